#include "phytoflow/server/routes.h"

namespace phytoflow {

void AddWebRoutes(Router&, Service::Parts&) {}

}  // namespace phytoflow
