#include "phytoflow/classify/model_info.h"

namespace phytoflow {

std::vector<std::string> ModelInfo::ClassNames() const {
  std::vector<std::string> names;
  names.reserve(classes.size());
  for (const ModelClass& model_class : classes) {
    names.push_back(model_class.name);
  }
  return names;
}

}  // namespace phytoflow
