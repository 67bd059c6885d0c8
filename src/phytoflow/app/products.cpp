#include "phytoflow/app/products.h"

#include "phytoflow/core/error.h"

namespace phytoflow {

SampleComposition ComposeSample(const Store& store,
                                const std::string& sample_id,
                                const ComposeOptions& options) {
  Check(options.taxonomy != nullptr, ErrorCode::kInternal, "ComposeSample: no taxonomy given");
  const std::optional<Sample> sample = store.FindSample(sample_id);
  Check(sample.has_value(),
        ErrorCode::kNotFound,
        "no sample '" + sample_id + "' in the store (see `phytoflow samples`)");
  std::vector<Particle> particles;
  particles.reserve(static_cast<size_t>(std::max<int64_t>(sample->particle_count, 0)));
  store.ScanParticles(sample_id,
                      ParticleScan{.measurements = false},
                      [&](const Particle& particle) { particles.push_back(particle); });
  std::vector<int64_t> numbers;
  numbers.reserve(particles.size());
  for (const Particle& particle : particles) {
    numbers.push_back(particle.number);
  }
  const std::vector<Label> labels = store.Labels(sample_id);
  const std::vector<ResolvedLabel> resolved = ResolveLabels(numbers, labels, options.labels);
  SampleComposition composition =
      ComputeComposition(*sample, particles, resolved, *options.taxonomy, options.composition);
  // The model chosen, even when every particle carries an expert label.
  if (composition.model_id.empty()) {
    composition.model_id = ChosenModelId(labels, options.labels);
  }
  return composition;
}

}  // namespace phytoflow
