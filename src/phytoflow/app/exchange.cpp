// The Darwin Core and EcoTaxa use cases: read the store, call the products layer, write a zip;
// and the import of EcoTaxa labels back into the store.

#include "phytoflow/app/products.h"
#include "phytoflow/core/error.h"
#include "phytoflow/core/version.h"
#include "phytoflow/products/ecotaxa.h"
#include "phytoflow/products/zip_archive.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <set>

namespace phytoflow {
namespace {

namespace fs = std::filesystem;

constexpr const char* kEcoTaxaClassification = "ecotaxa";
constexpr const char* kEcoTaxaSource = "ecotaxa";  // EcoTaxa's own predictions

std::vector<uint8_t> Bytes(const std::string& text) {
  return {text.begin(), text.end()};
}

Sample RequireSample(const Store& store, const std::string& sample_id) {
  std::optional<Sample> sample = store.FindSample(sample_id);
  Check(sample.has_value(),
        ErrorCode::kNotFound,
        "no sample '" + sample_id + "' in the store (see `phytoflow samples`)");
  return std::move(*sample);
}

// The resolved labels of the particles that carry a label. Resolution is per particle, so this
// is what ComposeSample counted for them, without reading the particles again.
std::vector<ResolvedLabel> ResolvedLabelsOf(const Store& store,
                                            const std::string& sample_id,
                                            const LabelChoice& choice) {
  const std::vector<Label> labels = store.Labels(sample_id);
  std::vector<int64_t> numbers;
  for (const Label& label : labels) {
    if (numbers.empty() || numbers.back() != label.particle_number) {
      numbers.push_back(label.particle_number);
    }
  }
  std::sort(numbers.begin(), numbers.end());
  numbers.erase(std::unique(numbers.begin(), numbers.end()), numbers.end());
  return ResolveLabels(numbers, labels, choice);
}

int64_t DataRows(const std::string& table) {
  const auto lines = std::count(table.begin(), table.end(), '\n');
  return std::max<int64_t>(lines - 1, 0);  // less the header
}

std::string TodayUtc() {
  return NowUtcIso8601().substr(0, 10);
}

bool HasTsvExtension(const std::string& name) {
  if (name.size() < 4) {
    return false;
  }
  std::string extension = name.substr(name.size() - 4);
  std::transform(extension.begin(), extension.end(), extension.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return extension == ".tsv";
}

struct TsvFile {
  std::string name;  // as reported: the path, or "<zip>:<entry>"
  std::string text;
};

std::vector<TsvFile> FindTsvFiles(const fs::path& input) {
  std::error_code error;
  Check(
      fs::exists(input, error), ErrorCode::kNotFound, input.string() + ": no such file or folder");
  std::vector<TsvFile> files;
  if (fs::is_directory(input, error)) {
    std::vector<fs::path> paths;
    for (const auto& entry : fs::recursive_directory_iterator(input)) {
      if (entry.is_regular_file() && HasTsvExtension(entry.path().filename().string())) {
        paths.push_back(entry.path());
      }
    }
    std::sort(paths.begin(), paths.end());
    for (const fs::path& path : paths) {
      std::ifstream in(path, std::ios::binary);
      files.push_back({path.string(), {std::istreambuf_iterator<char>(in), {}}});
      Check(!in.bad(), ErrorCode::kUnavailable, "cannot read " + path.string());
    }
  } else if (HasTsvExtension(input.filename().string())) {
    std::ifstream in(input, std::ios::binary);
    files.push_back({input.string(), {std::istreambuf_iterator<char>(in), {}}});
  } else {
    // Only the tables: an EcoTaxa export's images may not fit in memory.
    const auto tables = [](std::string_view name) {
      return HasTsvExtension(std::string(name));
    };
    for (ZipEntry& entry : ReadZip(input, tables)) {
      files.push_back(
          {input.string() + ":" + entry.name, {entry.bytes.begin(), entry.bytes.end()}});
    }
  }
  Check(!files.empty(),
        ErrorCode::kInvalidInput,
        input.string() + ": no .tsv file (expected an EcoTaxa export: ecotaxa_*.tsv and images)");
  return files;
}

struct ParticleRef {
  std::string sample_id;
  int64_t number = 0;
};

// Finds stored particles by EcoTaxa object id ("<sample id>_<number>") or FlowCam GUID. Particle
// numbers are read per sample when first needed, GUIDs only if some row needs them.
class ParticleIndex {
 public:
  explicit ParticleIndex(const Store& store) : store_(store) {
    for (const Sample& sample : store.ListSamples()) {
      sample_ids_.insert(sample.id);
    }
  }

  std::optional<ParticleRef> Find(const EcoTaxaRow& row) {
    if (auto found = ByObjectId(row.object_id)) {
      return found;
    }
    if (!row.guid.empty()) {
      LoadGuids();
      if (const auto at = by_guid_.find(row.guid); at != by_guid_.end()) {
        return at->second;
      }
    }
    return std::nullopt;
  }

 private:
  std::optional<ParticleRef> ByObjectId(const std::string& object_id) {
    const size_t separator = object_id.rfind('_');
    if (separator == std::string::npos) {
      return std::nullopt;
    }
    const std::string sample_id = object_id.substr(0, separator);
    int64_t number = 0;
    const char* begin = object_id.data() + separator + 1;
    const char* end = object_id.data() + object_id.size();
    const auto [at, error] = std::from_chars(begin, end, number);
    if (error != std::errc() || at != end || begin == end || !sample_ids_.contains(sample_id)) {
      return std::nullopt;
    }
    if (!NumbersOf(sample_id).contains(number)) {
      return std::nullopt;
    }
    return ParticleRef{sample_id, number};
  }

  const std::set<int64_t>& NumbersOf(const std::string& sample_id) {
    auto [at, inserted] = numbers_.try_emplace(sample_id);
    if (inserted) {
      store_.ScanParticles(
          sample_id, {}, [&](const Particle& particle) { at->second.insert(particle.number); });
    }
    return at->second;
  }

  void LoadGuids() {
    if (guids_loaded_) {
      return;
    }
    guids_loaded_ = true;
    for (const std::string& sample_id : sample_ids_) {
      store_.ScanParticles(sample_id, {}, [&](const Particle& particle) {
        if (!particle.guid.empty()) {
          by_guid_.emplace(particle.guid, ParticleRef{sample_id, particle.number});
        }
      });
    }
  }

  const Store& store_;
  std::set<std::string> sample_ids_;
  std::map<std::string, std::set<int64_t>> numbers_;
  bool guids_loaded_ = false;
  std::map<std::string, ParticleRef> by_guid_;
};

}  // namespace

DarwinCoreExportReport ExportDarwinCore(const Store& store,
                                        const std::vector<std::string>& sample_ids,
                                        const DatasetDescription& dataset,
                                        const fs::path& out,
                                        const DarwinCoreExportOptions& options) {
  Check(!sample_ids.empty(), ErrorCode::kInvalidInput, "export dwca: no samples given");
  Check(options.compose.taxonomy != nullptr, ErrorCode::kInternal, "export dwca: no taxonomy");
  std::vector<Sample> samples;
  std::set<std::string> seen;
  for (const std::string& sample_id : sample_ids) {
    if (seen.insert(sample_id).second) {
      samples.push_back(RequireSample(store, sample_id));
    }
  }
  // Refuse early: composing every sample first would only delay the same error.
  RequireDarwinCoreFields(samples);

  DarwinCoreExportReport report{.samples = static_cast<int64_t>(samples.size())};
  std::vector<DarwinCoreSample> inputs;
  for (Sample& sample : samples) {
    SampleComposition composition = ComposeSample(store, sample.id, options.compose);
    for (const TaxonComposition& taxon : composition.taxa) {
      // BuildDarwinCoreArchive publishes living taxa with an AphiaID only; say what it leaves out.
      const int64_t counted = taxon.validated.particles + taxon.predicted.particles;
      if (taxon.taxon && taxon.taxon->Living() && !taxon.taxon->aphia_id && counted > 0) {
        report.warnings.push_back("sample '" + sample.id + "': class '" + taxon.name +
                                  "' has no AphiaID: its " + std::to_string(counted) +
                                  " particles are not published as occurrences");
      }
    }
    for (const std::string& warning : composition.warnings) {
      report.warnings.push_back("sample '" + sample.id + "': " + warning);
    }
    std::vector<ResolvedLabel> labels = ResolvedLabelsOf(store, sample.id, options.compose.labels);
    ModelCitation model{.model_id = composition.model_id, .reference = options.model_reference};
    inputs.push_back(DarwinCoreSample{.sample = std::move(sample),
                                      .composition = std::move(composition),
                                      .model = std::move(model),
                                      .labels = std::move(labels)});
  }

  DatasetDescription described = dataset;
  if (described.pub_date.empty()) {
    described.pub_date = TodayUtc();
  }
  const std::vector<DarwinCoreFile> files =
      BuildDarwinCoreArchive(described, inputs, std::string(Version()));
  std::vector<ZipEntry> entries;
  for (const DarwinCoreFile& file : files) {
    if (file.name == "event.txt") {
      report.events = DataRows(file.text);
    } else if (file.name == "occurrence.txt") {
      report.occurrences = DataRows(file.text);
    } else if (file.name == "extendedmeasurementorfact.txt") {
      report.measurements = DataRows(file.text);
    }
    entries.push_back(ZipEntry{.name = file.name, .bytes = Bytes(file.text)});
  }
  WriteZip(out, entries);
  return report;
}

EcoTaxaExportReport ExportEcoTaxa(const Store& store,
                                  const std::string& sample_id,
                                  const fs::path& out,
                                  const LabelChoice& labels) {
  const Sample sample = RequireSample(store, sample_id);
  EcoTaxaExportReport report;
  std::vector<ZipEntry> entries(1);  // the TSV goes first, once the particles are known
  std::vector<Particle> particles;
  std::vector<int64_t> numbers;
  store.ScanParticles(sample_id, {.images = true}, [&](const Particle& stored) {
    numbers.push_back(stored.number);
    if (stored.image_png.empty()) {
      ++report.without_image;
      return;
    }
    Particle particle = stored;
    entries.push_back(ZipEntry{.name = EcoTaxaImageName(sample_id, particle.number),
                               .bytes = std::move(particle.image_png)});
    particle.image_png.clear();
    particle.mask_png.clear();
    particles.push_back(std::move(particle));
  });
  const std::vector<ResolvedLabel> resolved =
      ResolveLabels(numbers, store.Labels(sample_id), labels);
  entries[0] = ZipEntry{.name = "ecotaxa_" + sample_id + ".tsv",
                        .bytes = Bytes(EcoTaxaTsv(sample, particles, resolved))};
  report.objects = static_cast<int64_t>(particles.size());
  WriteZip(out, entries);
  return report;
}

EcoTaxaImportReport ImportEcoTaxa(Store& store, const fs::path& input) {
  // Parse everything first, so that a malformed file stops the import before any write.
  std::vector<std::pair<std::string, std::vector<EcoTaxaRow>>> parsed;
  for (const TsvFile& file : FindTsvFiles(input)) {
    parsed.emplace_back(file.name, ParseEcoTaxaTsv(file.text, file.name));
  }

  EcoTaxaImportReport report;
  ParticleIndex index(store);
  const std::string now = NowUtcIso8601();
  // Per sample and particle: the last row wins when several rows name one particle.
  std::map<std::string, std::map<int64_t, Label>> validated;
  std::map<std::string, std::map<int64_t, Label>> predicted;
  std::map<std::string, std::set<int64_t>> mentioned;
  for (const auto& [file, rows] : parsed) {
    for (const EcoTaxaRow& row : rows) {
      ++report.rows;
      const std::optional<ParticleRef> particle = index.Find(row);
      if (!particle) {
        report.unmatched.push_back({.file = file, .line = row.line, .object_id = row.object_id});
        continue;
      }
      mentioned[particle->sample_id].insert(particle->number);
      validated[particle->sample_id].erase(particle->number);
      predicted[particle->sample_id].erase(particle->number);
      const bool is_validated = row.status == "validated";
      if (row.category.empty() || (!is_validated && row.status != "predicted")) {
        ++report.skipped;
        continue;
      }
      Label label{.particle_number = particle->number,
                  .name = row.category,
                  .source = is_validated ? kLabelSourceExpert : kEcoTaxaSource,
                  .classification = kEcoTaxaClassification,
                  .author = is_validated ? (row.annotator.empty() ? "EcoTaxa user" : row.annotator)
                                         : "EcoTaxa",
                  .created_at = row.annotated_at.empty() ? now : row.annotated_at};
      (is_validated ? validated : predicted)[particle->sample_id][particle->number] =
          std::move(label);
    }
  }

  for (const auto& [sample_id, numbers] : mentioned) {
    // The rows say what EcoTaxa holds for the particles they name; the sample's other particles
    // keep the EcoTaxa labels of earlier imports (an export may cover part of a sample).
    const std::map<int64_t, Label>& expert = validated[sample_id];
    std::map<int64_t, Label>& ecotaxa = predicted[sample_id];
    std::map<int64_t, Label> current_expert;  // the EcoTaxa validations stored now
    for (const Label& label : store.Labels(sample_id)) {
      if (label.classification != kEcoTaxaClassification) {
        continue;
      }
      if (label.source == kLabelSourceExpert) {
        current_expert.emplace(label.particle_number, label);
      } else if (label.source == kEcoTaxaSource && !numbers.contains(label.particle_number)) {
        ecotaxa.emplace(label.particle_number, label);
      }
    }
    // Expert labels are events (docs/validation.md): append only what differs from what is
    // stored, so that importing the same file again changes nothing and a later validation in
    // phytoflow keeps its precedence. A validation that EcoTaxa no longer holds is withdrawn.
    std::vector<Label> events;
    for (const int64_t number : numbers) {
      const auto wanted = expert.find(number);
      const auto stored = current_expert.find(number);
      if (wanted != expert.end()) {
        ++report.validated;
        const bool same = stored != current_expert.end() &&
                          stored->second.status == ExpertStatus::kValidated &&
                          stored->second.name == wanted->second.name &&
                          stored->second.author == wanted->second.author;
        if (!same) {
          events.push_back(wanted->second);
        }
      } else if (stored != current_expert.end()) {
        events.push_back(Label{.particle_number = number,
                               .source = kLabelSourceExpert,
                               .classification = kEcoTaxaClassification,
                               .author = "EcoTaxa",
                               .created_at = now,
                               .status = ExpertStatus::kWithdrawn});
      }
    }
    // One batch per sample, unless it is larger than a store appends at once.
    for (size_t start = 0; start < events.size(); start += kMaxExpertLabelsPerAppend) {
      store.AppendExpertLabels(
          sample_id,
          std::span(events).subspan(start,
                                    std::min(kMaxExpertLabelsPerAppend, events.size() - start)));
    }
    std::vector<Label> ecotaxa_labels;
    for (auto& [number, label] : ecotaxa) {
      report.predicted += numbers.contains(number) ? 1 : 0;
      ecotaxa_labels.push_back(std::move(label));
    }
    store.ReplaceLabels(sample_id, kEcoTaxaSource, kEcoTaxaClassification, ecotaxa_labels);
    report.samples.push_back(sample_id);
  }
  return report;
}

}  // namespace phytoflow
