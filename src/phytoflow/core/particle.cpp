#include "phytoflow/core/particle.h"

#include <cmath>
#include <numbers>

namespace phytoflow {

double SphereVolumeUm3(double diameter_um) {
  return std::numbers::pi / 6.0 * diameter_um * diameter_um * diameter_um;
}

namespace {

bool SameValue(double a, double b) {
  return a == b || (std::isnan(a) && std::isnan(b));
}

}  // namespace

bool Particle::operator==(const Particle& other) const {
  if (measurements.size() != other.measurements.size()) {
    return false;
  }
  for (size_t i = 0; i < measurements.size(); ++i) {
    if (!SameValue(measurements[i], other.measurements[i])) {
      return false;
    }
  }
  return number == other.number && guid == other.guid && collage_file == other.collage_file &&
         box == other.box && particles_per_chain == other.particles_per_chain &&
         timestamp == other.timestamp && SameValue(esd_um, other.esd_um) &&
         SameValue(abd_um, other.abd_um) && SameValue(biovolume_esd_um3, other.biovolume_esd_um3) &&
         SameValue(biovolume_abd_um3, other.biovolume_abd_um3) && outlines == other.outlines &&
         image_png == other.image_png && mask_png == other.mask_png;
}

}  // namespace phytoflow
