#pragma once

#include <string>

namespace phytoflow {

// The model `classify` uses when none is given, and whose confusion matrix `report` reads for
// the corrected abundances: $PHYTOFLOW_MODEL, else the default model shipped in the source tree
// (models/phytoflow-flowcam-default.pt, found through the PHYTOFLOW_SOURCE_DIR compiled in).
std::string DefaultModelPath();

}  // namespace phytoflow
