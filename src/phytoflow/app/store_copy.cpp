#include "phytoflow/app/store_copy.h"

#include "phytoflow/core/error.h"

#include <bit>
#include <cmath>
#include <cstdio>
#include <span>

namespace phytoflow {
namespace {

// Particles and labels handed to the writer at a time.
constexpr size_t kBatchSize = 256;

// 64-bit FNV-1a over a canonical encoding of everything that is compared: each value is written
// with its length or fixed width, so "ab"+"c" and "a"+"bc" differ, and every NaN hashes alike.
class Checksum {
 public:
  void Bytes(std::span<const uint8_t> bytes) {
    Integer(static_cast<int64_t>(bytes.size()));
    for (uint8_t byte : bytes) {
      Byte(byte);
    }
  }
  void Text(const std::string& text) {
    Integer(static_cast<int64_t>(text.size()));
    for (char c : text) {
      Byte(static_cast<uint8_t>(c));
    }
  }
  void Integer(int64_t value) {
    const auto bits = static_cast<uint64_t>(value);
    for (int shift = 0; shift < 64; shift += 8) {
      Byte(static_cast<uint8_t>(bits >> shift));
    }
  }
  void Number(double value) {
    Integer(std::isnan(value) ? int64_t{0x7ff8000000000000} : std::bit_cast<int64_t>(value));
  }
  void Optional(const std::optional<double>& value) {
    Integer(value ? 1 : 0);
    if (value) {
      Number(*value);
    }
  }
  void Optional(const std::optional<int64_t>& value) {
    Integer(value ? 1 : 0);
    if (value) {
      Integer(*value);
    }
  }
  void Texts(const std::vector<std::string>& texts) {
    Integer(static_cast<int64_t>(texts.size()));
    for (const std::string& text : texts) {
      Text(text);
    }
  }
  void Context(const std::vector<ContextEntry>& entries) {
    Integer(static_cast<int64_t>(entries.size()));
    for (const ContextEntry& entry : entries) {
      Text(entry.section);
      Text(entry.key);
      Text(entry.value);
    }
  }

  uint64_t Value() const { return hash_; }
  std::string Hex() const {
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash_));
    return text;
  }

 private:
  void Byte(uint8_t byte) {
    hash_ ^= byte;
    hash_ *= 0x100000001b3ULL;  // FNV-1a 64-bit prime
  }
  uint64_t hash_ = 0xcbf29ce484222325ULL;  // FNV-1a 64-bit offset basis
};

void AddSample(Checksum& checksum, const Sample& sample) {
  for (const std::string* text : {&sample.id,
                                  &sample.run_name,
                                  &sample.fingerprint,
                                  &sample.source_path,
                                  &sample.software,
                                  &sample.software_version,
                                  &sample.instrument_serial,
                                  &sample.camera,
                                  &sample.flow_cell,
                                  &sample.run_start_utc,
                                  &sample.run_end_utc,
                                  &sample.run_start_local,
                                  &sample.notes,
                                  &sample.ingested_at,
                                  &sample.phytoflow_version}) {
    checksum.Text(*text);
  }
  for (const std::optional<double>* number : {&sample.magnification,
                                              &sample.calibration_um_per_px,
                                              &sample.flow_cell_depth_um,
                                              &sample.flow_rate_ml_per_min,
                                              &sample.volume_imaged_ml,
                                              &sample.volume_processed_ml,
                                              &sample.particles_per_ml}) {
    checksum.Optional(*number);
  }
  checksum.Optional(sample.frames_total);
  checksum.Optional(sample.frames_used);
  checksum.Text(std::string(VolumeSourceName(sample.volume_source)));
  checksum.Number(sample.dilution_factor);
  checksum.Integer(sample.particle_count);
  checksum.Texts(sample.measurement_names);
  checksum.Context(sample.context);
  checksum.Context(sample.summary);
  checksum.Texts(sample.classifications);
  checksum.Texts(sample.warnings);
  checksum.Integer(static_cast<int64_t>(sample.files.size()));
  for (const SampleFile& file : sample.files) {
    checksum.Text(file.name);
    checksum.Text(file.kind);
    checksum.Text(file.media_type);
    checksum.Bytes(file.bytes);
  }
  // MetadataValues writes every set key as the shortest text of its value: exact and complete.
  for (const auto& [key, value] : MetadataValues(sample.metadata)) {
    checksum.Text(key);
    checksum.Text(value);
  }
}

void AddParticle(Checksum& checksum, const Particle& particle) {
  checksum.Integer(particle.number);
  checksum.Text(particle.guid);
  checksum.Text(particle.collage_file);
  for (int value : {particle.box.x, particle.box.y, particle.box.width, particle.box.height}) {
    checksum.Integer(value);
  }
  checksum.Integer(particle.particles_per_chain);
  checksum.Text(particle.timestamp);
  for (double value :
       {particle.esd_um, particle.abd_um, particle.biovolume_esd_um3, particle.biovolume_abd_um3}) {
    checksum.Number(value);
  }
  checksum.Integer(static_cast<int64_t>(particle.measurements.size()));
  for (double value : particle.measurements) {
    checksum.Number(value);
  }
  checksum.Integer(static_cast<int64_t>(particle.outlines.size()));
  for (const ChainCode& chain : particle.outlines) {
    checksum.Integer(chain.start_x);
    checksum.Integer(chain.start_y);
    checksum.Text(chain.directions);
  }
  checksum.Bytes(particle.image_png);
  checksum.Bytes(particle.mask_png);
}

void AddLabel(Checksum& checksum, const Label& label) {
  checksum.Integer(label.particle_number);
  checksum.Text(label.name);
  checksum.Text(label.source);
  checksum.Text(label.classification);
  checksum.Text(label.author);
  checksum.Text(label.created_at);
  checksum.Optional(label.probability);
  checksum.Integer(static_cast<int64_t>(label.top_k.size()));
  for (const LabelScore& score : label.top_k) {
    checksum.Text(score.name);
    checksum.Number(score.probability);
  }
  // Sequence numbers are each store's own (and the copy carries current labels, not the
  // events behind them), so of an expert label only its status is compared.
  checksum.Integer(static_cast<int64_t>(label.status));
}

// What one store holds of one sample, as counts and a checksum.
struct SampleDigest {
  int64_t particles = 0;
  int64_t images = 0;
  int64_t masks = 0;
  int64_t labels = 0;
  uint64_t checksum = 0;
  bool operator==(const SampleDigest&) const = default;
};

SampleDigest Digest(const Store& store, const std::string& sample_id) {
  SampleDigest digest;
  Checksum checksum;
  const std::optional<Sample> sample = store.FindSample(sample_id);
  if (!sample) {
    return digest;
  }
  AddSample(checksum, *sample);
  store.ScanParticles(sample_id, {.images = true, .outlines = true}, [&](const Particle& particle) {
    ++digest.particles;
    digest.images += particle.image_png.empty() ? 0 : 1;
    digest.masks += particle.mask_png.empty() ? 0 : 1;
    AddParticle(checksum, particle);
  });
  for (const Label& label : store.Labels(sample_id)) {
    ++digest.labels;
    AddLabel(checksum, label);
  }
  digest.checksum = checksum.Value();
  return digest;
}

std::string Describe(const SampleDigest& digest) {
  char checksum[17];
  std::snprintf(
      checksum, sizeof checksum, "%016llx", static_cast<unsigned long long>(digest.checksum));
  return std::to_string(digest.particles) + " particles, " + std::to_string(digest.images) +
         " images, " + std::to_string(digest.masks) + " masks, " + std::to_string(digest.labels) +
         " labels, checksum " + checksum;
}

void CopySample(const Store& from, Store& to, const Sample& sample) {
  std::unique_ptr<SampleWriter> writer = to.BeginSample(sample, WriteMode::kCreate);
  std::vector<Particle> batch;
  batch.reserve(kBatchSize);
  from.ScanParticles(sample.id, {.images = true, .outlines = true}, [&](const Particle& particle) {
    batch.push_back(particle);
    if (batch.size() == kBatchSize) {
      writer->AddParticles(batch);
      batch.clear();
    }
  });
  writer->AddParticles(batch);
  // Labels() keeps the order in which each particle's labels were written; so does the copy.
  const std::vector<Label> labels = from.Labels(sample.id);
  for (size_t start = 0; start < labels.size(); start += kBatchSize) {
    writer->AddLabels(
        std::span(labels).subspan(start, std::min(kBatchSize, labels.size() - start)));
  }
  writer->Commit(sample);
}

}  // namespace

StoreCopyReport CopyStore(const Store& from, Store& to, const StoreCopyOptions& options) {
  Check(&from != &to,
        ErrorCode::kInvalidInput,
        "store copy: FROM and TO are the same store; nothing to copy");
  StoreCopyReport report;
  // Decide everything first: a clash of ids fails the copy before anything is written.
  std::vector<std::string> to_copy;
  for (const Sample& listed : from.ListSamples()) {
    if (const std::optional<Sample> twin = to.FindSampleByFingerprint(listed.fingerprint)) {
      report.skipped.push_back({.sample_id = listed.id, .existing_id = twin->id});
      continue;
    }
    if (const std::optional<Sample> taken = to.FindSample(listed.id)) {
      throw Error(ErrorCode::kConflict,
                  "store copy: sample '" + listed.id +
                      "' exists in TO with other particles (fingerprint '" + taken->fingerprint +
                      "' instead of '" + listed.fingerprint +
                      "'); delete or rename one of them first. Nothing was copied");
    }
    to_copy.push_back(listed.id);
  }

  for (const std::string& sample_id : to_copy) {
    const std::optional<Sample> sample = from.FindSample(sample_id);
    if (!sample) {
      continue;  // deleted from the source since it was listed
    }
    CopySample(from, to, *sample);
    report.copied.push_back(sample_id);
    if (options.on_sample_copied) {
      options.on_sample_copied(sample_id, sample->particle_count);
    }
  }

  // Verified by reading both stores again, not by trusting what was written.
  Checksum overall;
  for (const std::string& sample_id : report.copied) {
    const SampleDigest source = Digest(from, sample_id);
    const SampleDigest target = Digest(to, sample_id);
    if (!(source == target)) {
      throw Error(ErrorCode::kInternal,
                  "store copy: sample '" + sample_id + "' differs after the copy: FROM has " +
                      Describe(source) + "; TO has " + Describe(target));
    }
    report.particles += target.particles;
    report.images += target.images;
    report.masks += target.masks;
    report.labels += target.labels;
    overall.Integer(static_cast<int64_t>(target.checksum));
  }
  report.checksum = overall.Hex();
  return report;
}

}  // namespace phytoflow
