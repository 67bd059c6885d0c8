#include "phytoflow/server/routes.h"

namespace phytoflow {

// Placeholder: being implemented.
void RestoreActiveModel(Service::Parts&) {}

void AddValidationRoutes(Router&, Service::Parts&) {}

}  // namespace phytoflow
