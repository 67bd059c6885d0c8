#include "phytoflow/cli/default_model.h"

#include <cstdlib>

namespace phytoflow {

std::string DefaultModelPath() {
  if (const char* path = std::getenv("PHYTOFLOW_MODEL"); path && *path) {
    return path;
  }
  return std::string(PHYTOFLOW_SOURCE_DIR) + "/models/phytoflow-flowcam-default.pt";
}

}  // namespace phytoflow
