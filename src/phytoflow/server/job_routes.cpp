#include "phytoflow/server/routes.h"

namespace phytoflow {

void AddJobRoutes(Router&, Service::Parts&) {}

}  // namespace phytoflow
