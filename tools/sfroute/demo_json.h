// `sfroute demo --json`: the report as one JSON object, for scripts.
#ifndef SFROUTE_TOOLS_SFROUTE_DEMO_JSON_H_
#define SFROUTE_TOOLS_SFROUTE_DEMO_JSON_H_

#include "demo/report.h"
#include "output.h"

namespace sfroute::cli {

// {"ok":..., "ns":..., "backend":..., "config":{...}, "day":{...},
//  "routers":{...}, "services":{...}, "library":{...}, "invariants":{...}}
Json DemoReportJson(const demo::ReportInput& input);

}  // namespace sfroute::cli

#endif  // SFROUTE_TOOLS_SFROUTE_DEMO_JSON_H_
