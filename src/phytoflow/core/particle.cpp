#include "phytoflow/core/particle.h"

#include <numbers>

namespace phytoflow {

double SphereVolumeUm3(double diameter_um) {
  return std::numbers::pi / 6.0 * diameter_um * diameter_um * diameter_um;
}

}  // namespace phytoflow
