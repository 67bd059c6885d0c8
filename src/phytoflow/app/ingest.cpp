#include "phytoflow/app/ingest.h"

#include "phytoflow/core/error.h"
#include "phytoflow/core/parallel.h"
#include "phytoflow/core/version.h"
#include "phytoflow/reader/export_source.h"
#include "phytoflow/reader/run_reader.h"

namespace phytoflow {
namespace {

// Particles per store call: large enough to amortise the call, small enough to keep memory
// flat (a batch with images is ~1 MB).
constexpr size_t kBatchSize = 256;

// A free sample id for a run: its name, or name plus fingerprint when another run took it.
std::string ChooseSampleId(const Store& store, const Sample& sample) {
  if (!store.FindSample(sample.run_name)) {
    return sample.run_name;
  }
  return sample.run_name + "-" + sample.fingerprint.substr(0, 8);
}

// `metadata` with the sidecar record of the run merged in, checked before anything is written.
SampleMetadata WithSidecar(SampleMetadata metadata,
                           const MetadataRecord& record,
                           const Sample& sample) {
  MergeMetadata(metadata, record.metadata);
  try {
    ValidateMetadata(metadata);
  } catch (const Error& error) {
    throw Error(
        error.Code(),
        "metadata of run '" + sample.run_name + "' (sample '" + sample.id + "'): " + error.what());
  }
  return metadata;
}

const MetadataRecord* SidecarRecord(const IngestOptions& options, const Sample& sample) {
  return options.metadata ? FindMetadataRecord(*options.metadata, sample.id, sample.run_name)
                          : nullptr;
}

IngestReport IngestRun(Store& store, const RunFiles& files, const IngestOptions& options) {
  RunReader reader(
      files,
      RunReadOptions{.strict = options.strict,
                     .threads = options.threads > 0 ? options.threads : DefaultThreadCount()});
  Sample sample = reader.Metadata();

  WriteMode mode = WriteMode::kCreate;
  IngestReport report;
  if (auto existing = store.FindSampleByFingerprint(sample.fingerprint)) {
    if (!options.replace) {
      report.outcome = IngestOutcome::kUnchanged;
      for (const LabelCount& count : store.CountLabels(existing->id)) {
        report.labels += count.count;
      }
      // The particles are already stored, but the sidecar may bring new metadata.
      if (const MetadataRecord* record = SidecarRecord(options, *existing)) {
        const SampleMetadata metadata = WithSidecar(existing->metadata, *record, *existing);
        if (metadata != existing->metadata) {
          store.UpdateSampleMetadata(existing->id, metadata);
          existing->metadata = metadata;
          report.metadata_updated = true;
        }
      }
      report.sample = std::move(*existing);
      return report;
    }
    sample.id = existing->id;
    sample.metadata = existing->metadata;  // given by users, not read from the run: kept
    mode = WriteMode::kReplace;
    report.outcome = IngestOutcome::kReplaced;
  } else {
    sample.id = ChooseSampleId(store, sample);
  }
  if (const MetadataRecord* record = SidecarRecord(options, sample)) {
    sample.metadata = WithSidecar(sample.metadata, *record, sample);
  } else if (options.metadata) {
    sample.warnings.push_back(
        "no sample metadata for this run in the sidecar file (a row whose run is '" +
        sample.run_name + "' or '" + sample.id + "')");
  }
  sample.ingested_at = NowUtcIso8601();
  sample.phytoflow_version = std::string(Version());

  std::unique_ptr<SampleWriter> writer = store.BeginSample(sample, mode);
  std::vector<Particle> batch(kBatchSize);
  int64_t done = 0;
  while (const size_t filled = reader.NextBatch(batch)) {
    writer->AddParticles(std::span<const Particle>(batch.data(), filled));
    done += static_cast<int64_t>(filled);
    if (options.on_progress) {
      options.on_progress(
          {.run_name = sample.run_name, .done = done, .total = sample.particle_count});
    }
  }
  int64_t label_count = 0;
  reader.VisitLabels(kBatchSize, [&](std::span<const Label> labels) {
    writer->AddLabels(labels);
    label_count += static_cast<int64_t>(labels.size());
  });

  for (const Diagnostic& diagnostic : reader.Problems()) {
    sample.warnings.push_back(diagnostic.ToString());
  }
  writer->Commit(sample);

  report.sample = std::move(sample);
  report.labels = label_count;
  report.particles_without_image = reader.ParticlesWithoutImage();
  return report;
}

}  // namespace

std::string_view IngestOutcomeName(IngestOutcome outcome) {
  switch (outcome) {
    case IngestOutcome::kIngested:
      return "ingested";
    case IngestOutcome::kReplaced:
      return "replaced";
    case IngestOutcome::kUnchanged:
      return "unchanged";
  }
  return "ingested";
}

std::vector<IngestReport> IngestExport(Store& store,
                                       const std::filesystem::path& input,
                                       const IngestOptions& options) {
  const ExportSource source(input, options.display_name);
  std::vector<IngestReport> reports;
  for (const RunFiles& files : source.Runs()) {
    reports.push_back(IngestRun(store, files, options));
    if (options.on_run_done) {
      options.on_run_done(reports.back());
    }
  }
  return reports;
}

std::vector<std::string> UnmatchedMetadataRuns(const std::vector<MetadataRecord>& records,
                                               const std::vector<IngestReport>& reports) {
  std::vector<std::string> unmatched;
  for (const MetadataRecord& record : records) {
    bool matched = false;
    for (const IngestReport& report : reports) {
      matched = matched ||
                FindMetadataRecord(records, report.sample.id, report.sample.run_name) == &record;
    }
    if (!matched) {
      unmatched.push_back(record.run);
    }
  }
  return unmatched;
}

}  // namespace phytoflow
