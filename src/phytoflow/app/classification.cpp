#include "phytoflow/app/classification.h"

#include "phytoflow/core/error.h"
#include "phytoflow/core/version.h"
#include "phytoflow/imaging/decode.h"
#include "phytoflow/imaging/png.h"

#include <algorithm>
#include <cmath>

namespace phytoflow {
namespace {

std::optional<double> Present(double value) {
  return std::isnan(value) ? std::nullopt : std::optional<double>(value);
}

// The value of measurement `name` of a particle, if the list had it.
std::optional<double> Measurement(const Sample& sample,
                                  const Particle& particle,
                                  std::string_view name) {
  const auto at = std::find(sample.measurement_names.begin(), sample.measurement_names.end(), name);
  if (at == sample.measurement_names.end()) {
    return std::nullopt;
  }
  const auto index = static_cast<size_t>(at - sample.measurement_names.begin());
  return index < particle.measurements.size() ? Present(particle.measurements[index])
                                              : std::nullopt;
}

std::string ModelAuthor(const Classifier& classifier) {
  return "phytoflow " + std::string(Version()) + " model " + classifier.Info().id;
}

}  // namespace

ParticleContext ContextForParticle(const Sample& sample,
                                   const Particle& particle,
                                   std::string_view size_unit) {
  ParticleContext context;
  if (size_unit == "px") {
    context.vignette_width = particle.box.width;
    context.vignette_height = particle.box.height;
  } else if (sample.calibration_um_per_px) {
    context.vignette_width = particle.box.width * *sample.calibration_um_per_px;
    context.vignette_height = particle.box.height * *sample.calibration_um_per_px;
  }
  context.esd_um = Present(particle.esd_um);
  context.abd_um = Present(particle.abd_um);
  context.area_abd_um2 = Measurement(sample, particle, "area_abd_um2");
  context.length_um = Measurement(sample, particle, "length_um");
  context.width_um = Measurement(sample, particle, "width_um");
  context.aspect_ratio = Measurement(sample, particle, "aspect_ratio");
  if (!context.aspect_ratio && context.length_um && context.width_um && *context.length_um > 0) {
    context.aspect_ratio = *context.width_um / *context.length_um;
  }
  context.elongation = Measurement(sample, particle, "elongation");
  context.circularity = Measurement(sample, particle, "circularity_hu");
  context.intensity = Measurement(sample, particle, "intensity");
  context.sigma_intensity = Measurement(sample, particle, "sigma_intensity");

  const SampleMetadata& metadata = sample.metadata;
  if (const std::optional<int> day = DayOfYear(metadata)) {
    context.day_of_year = *day;
  }
  context.latitude = metadata.latitude;
  context.longitude = metadata.longitude;
  if (metadata.depth_min_m && metadata.depth_max_m) {
    context.depth_m = (*metadata.depth_min_m + *metadata.depth_max_m) / 2;
  } else {
    context.depth_m = metadata.depth_min_m ? metadata.depth_min_m : metadata.depth_max_m;
  }
  context.temperature_c = metadata.temperature_c;
  context.salinity = metadata.salinity;
  return context;
}

std::optional<StoreLabelFilter> ParseStoreDataset(const std::string& text) {
  if (text != "store" && !text.starts_with("store:")) {
    return std::nullopt;
  }
  StoreLabelFilter filter;
  if (text.size() > 6) {
    const std::string rest = text.substr(6);
    const auto colon = rest.find(':');
    filter.source = rest.substr(0, colon);
    if (colon != std::string::npos) {
      filter.classification = rest.substr(colon + 1);
    }
  }
  return filter;
}

Dataset DatasetFromStore(const Store& store, const StoreLabelFilter& filter) {
  std::vector<Sample> samples;
  if (filter.sample_ids.empty()) {
    samples = store.ListSamples();
  } else {
    for (const std::string& id : filter.sample_ids) {
      auto sample = store.FindSample(id);
      Check(sample.has_value(), ErrorCode::kNotFound, "no sample '" + id + "' in the store");
      samples.push_back(std::move(*sample));
    }
  }
  const bool all_calibrated = std::all_of(samples.begin(), samples.end(), [](const Sample& sample) {
    return sample.calibration_um_per_px.has_value();
  });
  const std::string size_unit = all_calibrated ? "um" : "px";

  std::vector<LabelledImage> items;
  for (const Sample& sample : samples) {
    // Per particle the label of highest expert precedence (the last one for other sources, which
    // all rank 0); an expert's dubious or withdrawn label means the particle is not training data.
    struct Chosen {
      int64_t precedence = -1;
      std::optional<std::string> name;
    };
    std::map<int64_t, Chosen> chosen;
    for (const Label& label : store.Labels(sample.id)) {
      if (label.source != filter.source ||
          (!filter.classification.empty() && label.classification != filter.classification)) {
        continue;
      }
      Chosen& current = chosen[label.particle_number];
      const int64_t precedence = label.source == kLabelSourceExpert ? ExpertPrecedence(label) : 0;
      if (precedence >= current.precedence) {
        current.precedence = precedence;
        const bool usable =
            label.source != kLabelSourceExpert || label.status == ExpertStatus::kValidated;
        current.name = usable ? std::optional<std::string>(label.name) : std::nullopt;
      }
    }
    std::map<int64_t, std::string> label_of;
    for (const auto& [number, label] : chosen) {
      if (label.name) {
        label_of[number] = *label.name;
      }
    }
    if (label_of.empty()) {
      continue;
    }
    store.ScanParticles(sample.id, {.images = true}, [&](const Particle& particle) {
      const auto label = label_of.find(particle.number);
      if (label == label_of.end() || particle.image_png.empty()) {
        return;
      }
      items.push_back(LabelledImage{.encoded = particle.image_png,
                                    .label = label->second,
                                    .context = ContextForParticle(sample, particle, size_unit)});
    });
  }
  Check(
      !items.empty(),
      ErrorCode::kInvalidInput,
      "the store has no particles with images labelled by source '" + filter.source + "'" +
          (filter.classification.empty() ? ""
                                         : " and classification '" + filter.classification + "'"));
  return MakeDataset(std::move(items), size_unit);
}

ClassifyReport ClassifySample(Store& store,
                              Classifier& classifier,
                              const std::string& sample_id,
                              const ClassifyOptions& options) {
  const auto sample = store.FindSample(sample_id);
  Check(sample.has_value(), ErrorCode::kNotFound, "no sample '" + sample_id + "' in the store");
  const ModelInfo& info = classifier.Info();
  ClassifyReport report{.sample_id = sample_id, .model_id = info.id};
  const std::string author = ModelAuthor(classifier);
  const std::string created_at = NowUtcIso8601();

  std::vector<Label> labels;
  std::vector<Image> images;
  std::vector<ParticleContext> contexts;
  std::vector<int64_t> numbers;
  const auto flush = [&] {
    if (images.empty()) {
      return;
    }
    const std::vector<Prediction> predictions =
        classifier.Classify(images, contexts, options.top_k);
    for (size_t i = 0; i < predictions.size(); ++i) {
      const Prediction& prediction = predictions[i];
      Label label{.particle_number = numbers[i],
                  .name = prediction.label,
                  .source = kLabelSourceModel,
                  .classification = info.id,
                  .author = author,
                  .created_at = created_at,
                  .probability = prediction.probability};
      for (const auto& [name, probability] : prediction.top_k) {
        label.top_k.push_back({.name = name, .probability = probability});
      }
      ++report.counts[label.name];
      (prediction.class_index < 0 ? report.uncertain : report.classified) += 1;
      labels.push_back(std::move(label));
    }
    images.clear();
    contexts.clear();
    numbers.clear();
    if (options.on_progress) {
      options.on_progress(report.particles, sample->particle_count);
    }
  };
  store.ScanParticles(sample_id, {.images = true}, [&](const Particle& particle) {
    ++report.particles;
    if (particle.image_png.empty()) {
      ++report.without_image;
      return;
    }
    images.push_back(DecodePng(particle.image_png));
    contexts.push_back(ContextForParticle(*sample, particle, info.context.size_unit));
    numbers.push_back(particle.number);
    if (static_cast<int>(images.size()) >= options.batch_size) {
      flush();
    }
  });
  flush();
  store.ReplaceLabels(sample_id, kLabelSourceModel, info.id, labels);
  return report;
}

std::vector<FilePrediction> PredictFiles(Classifier& classifier,
                                         const std::vector<std::filesystem::path>& files,
                                         std::optional<double> pixel_size_um,
                                         int top_k) {
  const std::string& size_unit = classifier.Info().context.size_unit;
  std::vector<Image> images;
  std::vector<ParticleContext> contexts;
  for (const auto& file : files) {
    images.push_back(ReadImage(file));
    ParticleContext context;
    const double scale = size_unit == "px" ? 1.0 : pixel_size_um.value_or(std::nan(""));
    if (!std::isnan(scale)) {
      context.vignette_width = images.back().width * scale;
      context.vignette_height = images.back().height * scale;
    }
    contexts.push_back(context);
  }
  const std::vector<Prediction> predictions = classifier.Classify(images, contexts, top_k);
  std::vector<FilePrediction> result;
  for (size_t i = 0; i < files.size(); ++i) {
    result.push_back({.path = files[i], .prediction = predictions[i]});
  }
  return result;
}

ModelEvaluation EvaluateModel(Classifier& classifier, const Dataset& dataset, int batch_size) {
  const std::vector<std::string> classes = classifier.Info().ClassNames();
  ModelEvaluation evaluation;
  std::vector<int> targets;
  std::vector<float> probabilities;
  std::vector<Image> images;
  std::vector<ParticleContext> contexts;
  const auto flush = [&] {
    if (images.empty()) {
      return;
    }
    const std::vector<float> batch = classifier.Probabilities(images, contexts);
    probabilities.insert(probabilities.end(), batch.begin(), batch.end());
    images.clear();
    contexts.clear();
  };
  for (const LabelledImage& item : dataset.items) {
    const auto at = std::find(classes.begin(), classes.end(), item.label);
    if (at == classes.end()) {
      ++evaluation.skipped;
      continue;
    }
    targets.push_back(static_cast<int>(at - classes.begin()));
    images.push_back(LoadItemImage(item));
    contexts.push_back(item.context);
    if (static_cast<int>(images.size()) >= batch_size) {
      flush();
    }
  }
  flush();
  Check(!targets.empty(),
        ErrorCode::kInvalidInput,
        "no item of the dataset has a label the model knows");
  evaluation.report = Evaluate(targets, probabilities, classes);
  return evaluation;
}

}  // namespace phytoflow
