#include "phytoflow/reader/run_reader.h"

#include "phytoflow/core/error.h"
#include "phytoflow/imaging/png.h"
#include "phytoflow/imaging/tiff.h"
#include "phytoflow/reader/context_reader.h"
#include "phytoflow/reader/text.h"
#include "phytoflow/reader/volume.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace phytoflow {
namespace fs = std::filesystem;
namespace {

// Only this many collages are named one by one in the warnings; the rest are counted.
constexpr int kMaxNamedCollageWarnings = 10;

constexpr uint64_t kFnvOffset = 14695981039346656037ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;

void HashBytes(uint64_t& hash, std::string_view bytes) {
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= kFnvPrime;
  }
  hash ^= 0xff;  // separator, so "ab","c" and "a","bc" differ
  hash *= kFnvPrime;
}

std::string ReadWholeFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

KeyValueFile ReadKeyValues(const std::optional<fs::path>& path,
                           KeyValueFile (*read)(std::istream&, const std::string&, Diagnostics&),
                           Diagnostics& diagnostics) {
  if (!path) {
    return {};
  }
  std::ifstream in(*path, std::ios::binary);
  if (!in) {
    Warn(diagnostics, path->filename().string(), 0, "", "cannot be opened; ignored");
    return {};
  }
  return read(in, path->filename().string(), diagnostics);
}

// "run_000001.tif" → "run"; "run_images_000001.tif" → "run"; "lib_lib_images_000001.tif" → "lib".
std::string RunNameFromCollage(const std::string& collage) {
  std::string name = fs::path(collage).stem().string();
  const auto underscore = name.rfind('_');
  if (underscore != std::string::npos && underscore + 1 < name.size() &&
      std::all_of(name.begin() + static_cast<long>(underscore) + 1, name.end(), [](char c) {
        return c >= '0' && c <= '9';
      })) {
    name.erase(underscore);
  }
  for (const std::string_view suffix : {"_lib_images", "_images"}) {
    if (name.size() > suffix.size() && name.ends_with(suffix)) {
      name.erase(name.size() - suffix.size());
      break;
    }
  }
  return name;
}

// "2017-02-01 00:00:18" → "2017-02-01T00:00:18"; collapses the double space of _summary.csv.
std::string NormaliseTime(std::string text) {
  std::string out;
  for (const char c : std::string(Trim(text))) {
    if (c == ' ' && !out.empty() && (out.back() == ' ' || out.back() == 'T')) {
      continue;
    }
    out += c;
  }
  if (out.size() > 10 && out[10] == ' ') {
    out[10] = 'T';
  }
  return out;
}

}  // namespace

std::string FingerprintHex(uint64_t hash) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex(16, '0');
  for (int i = 15; i >= 0; --i) {
    hex[static_cast<size_t>(i)] = kDigits[hash & 0xf];
    hash >>= 4;
  }
  return hex;
}

RunReader::RunReader(RunFiles files, RunReadOptions options)
    : files_(std::move(files)), options_(options) {
  ReadSmallFiles();
  ScanList();
}

RunReader::~RunReader() = default;

std::unique_ptr<ParticleTableReader> RunReader::OpenList(std::ifstream& stream) const {
  stream.open(files_.list, std::ios::binary);
  if (!stream) {
    throw Error(ErrorCode::kNotFound, files_.list.string() + ": cannot be opened");
  }
  const std::string name = files_.list.filename().string();
  if (files_.list_is_csv) {
    return std::make_unique<CsvListReader>(stream, name);
  }
  return std::make_unique<ListReader>(stream, name);
}

void RunReader::ReadSmallFiles() {
  const KeyValueFile context = ReadKeyValues(files_.context, ReadContext, diagnostics_);
  const KeyValueFile run_summary = ReadKeyValues(files_.run_summary, ReadRunSummary, diagnostics_);
  const KeyValueFile summary_csv = ReadKeyValues(files_.summary_csv, ReadSummaryCsv, diagnostics_);

  sample_.source_path = files_.source.empty() ? files_.folder.string() : files_.source;
  sample_.context = context.Entries();
  sample_.summary = run_summary.Entries();
  for (ContextEntry entry : summary_csv.Entries()) {
    entry.section = entry.section.empty() ? "Summary CSV" : "Summary CSV/" + entry.section;
    sample_.summary.push_back(std::move(entry));
  }
  if (files_.notes) {
    sample_.notes = ToValidUtf8(ReadWholeFile(*files_.notes));
  }

  // Software and instrument: the .ctx first, the summaries where it is silent.
  sample_.software = context.Find("Software", "SoftwareName").value_or("");
  sample_.software_version = context.Find("Software", "SoftwareVersion").value_or("");
  if (const auto software = run_summary.Find("Environment", "Software"); software) {
    const auto space = software->rfind(' ');
    if (sample_.software.empty()) {
      sample_.software = space == std::string::npos ? *software : software->substr(0, space);
    }
    if (sample_.software_version.empty() && space != std::string::npos) {
      sample_.software_version = software->substr(space + 1);
    }
  }
  if (sample_.software.empty()) {
    sample_.software = "VisualSpreadsheet";
  }
  sample_.instrument_serial =
      context.Find("Software", "SerialNo")
          .value_or(run_summary.Find("Environment", "SerialNo").value_or(""));
  sample_.magnification = context.FindNumber("Software", "CameraMagnification");
  if (!sample_.magnification) {
    sample_.magnification = run_summary.FindNumber("Environment", "Magnification");
  }
  sample_.camera = context.Find("Camera", "CameraName").value_or("");
  sample_.flow_cell = context.Find("Fluid", "FlowCellType").value_or("");
  sample_.flow_cell_depth_um = context.FindNumber("Fluid", "FlowCellDepth");
  sample_.flow_rate_ml_per_min = context.FindNumber("Fluid", "PumpFlowRate");
  if (!sample_.flow_rate_ml_per_min || *sample_.flow_rate_ml_per_min <= 0.0) {
    sample_.flow_rate_ml_per_min = run_summary.FindNumber("Run", "Flow Rate");
  }
  sample_.run_start_utc = NormaliseTime(context.Find("General", "RunStartTime").value_or(""));
  sample_.run_end_utc = NormaliseTime(context.Find("General", "RunEndTime").value_or(""));
  sample_.run_start_local =
      NormaliseTime(run_summary.Find("Date/Time", "Start")
                        .value_or(summary_csv.Find("", "Start Time").value_or("")));
  if (const auto frames = context.FindNumber("CaptureStats", "RawImageTotal")) {
    sample_.frames_total = static_cast<int64_t>(*frames);
  } else if (const auto total = run_summary.FindNumber("Images", "Total")) {
    sample_.frames_total = static_cast<int64_t>(*total);
  }
  if (const auto used = run_summary.FindNumber("Images", "Used")) {
    sample_.frames_used = static_cast<int64_t>(*used);
  }
  sample_.dilution_factor = DilutionFactor(context);

  if (files_.classification) {
    std::ifstream in(*files_.classification, std::ios::binary);
    classifications_ = ReadClassifications(in, files_.classification->filename().string());
    for (const Classification& classification : classifications_) {
      sample_.classifications.push_back(classification.name);
    }
  }

  for (const fs::path& path : files_.calibration_images) {
    try {
      const Image image = ReadTiff(path);
      sample_.files.push_back(SampleFile{.name = path.filename().string(),
                                         .kind = "calibration_image",
                                         .media_type = "image/png",
                                         .bytes = EncodePng(image)});
    } catch (const Error& error) {
      Warn(diagnostics_,
           path.filename().string(),
           0,
           "",
           std::string("calibration image ignored: ") + error.what());
    }
  }

  // The volume needs the list's calibration, so ScanList completes it.
  const VolumeEstimate volume =
      EstimateVolumeImaged(context, run_summary, summary_csv, std::nullopt);
  sample_.volume_processed_ml = volume.processed_ml;
  sample_.volume_imaged_ml = volume.imaged_ml;
  sample_.volume_source = volume.source;
  if (const auto count = run_summary.FindNumber("Run", "Particle Count")) {
    summary_particle_count_ = static_cast<int64_t>(*count);
  }
  context_ = context;
  run_summary_ = run_summary;
  summary_csv_ = summary_csv;
}

void RunReader::ScanList() {
  std::ifstream stream;
  std::unique_ptr<ParticleTableReader> list = OpenList(stream);
  sample_.measurement_names = list->Decoder().MeasurementNames();
  const bool has_guid = list->Decoder().HasGuid();
  const auto calibration_index = std::find(sample_.measurement_names.begin(),
                                           sample_.measurement_names.end(),
                                           "calibration_um_per_px") -
                                 sample_.measurement_names.begin();
  const bool has_calibration =
      calibration_index < static_cast<long>(sample_.measurement_names.size());

  uint64_t guid_hash = kFnvOffset;
  uint64_t number_hash = kFnvOffset;
  bool all_guids = has_guid;
  bool ids_in_order = true;
  std::string first_collage;
  Particle particle;
  while (list->Next(particle)) {
    if (sample_.particle_count == 0) {
      first_collage = particle.collage_file;
      if (has_calibration) {
        const double calibration = particle.measurements[static_cast<size_t>(calibration_index)];
        if (calibration > 0.0) {
          sample_.calibration_um_per_px = calibration;
        }
      }
    }
    ++sample_.particle_count;
    if (!numbers_.empty() && particle.number <= numbers_.back()) {
      // Rare: VS writes ids in increasing order. Only then pay for a search.
      ids_in_order = false;
      if (std::find(numbers_.begin(), numbers_.end(), particle.number) != numbers_.end()) {
        throw Error(ErrorCode::kInvalidInput,
                    files_.list.filename().string() + ":" + std::to_string(list->LineNumber()) +
                        ": field 'id': particle id " + std::to_string(particle.number) +
                        " appears a second time");
      }
    }
    numbers_.push_back(particle.number);
    if (page_sequence_.empty() || page_sequence_.back() != particle.collage_file) {
      page_sequence_.push_back(particle.collage_file);
    }
    if (particle.guid.empty()) {
      all_guids = false;
    }
    HashBytes(guid_hash, particle.guid);
    HashBytes(number_hash, std::to_string(particle.number));
  }
  std::sort(numbers_.begin(), numbers_.end());

  sample_.run_name =
      first_collage.empty() ? files_.list.stem().string() : RunNameFromCollage(first_collage);
  if (all_guids && sample_.particle_count > 0) {
    sample_.fingerprint = FingerprintHex(guid_hash);
  } else {
    uint64_t hash = kFnvOffset;
    HashBytes(hash, sample_.run_name);
    HashBytes(hash, FingerprintHex(number_hash));
    sample_.fingerprint = FingerprintHex(hash);
  }

  if (!sample_.calibration_um_per_px) {
    sample_.calibration_um_per_px = context_.FindNumber("Fluid", "CalibrationConstant");
  }
  if (sample_.volume_source == VolumeSource::kNone ||
      sample_.volume_source == VolumeSource::kContextGeometry) {
    const VolumeEstimate volume =
        EstimateVolumeImaged(context_, run_summary_, summary_csv_, sample_.calibration_um_per_px);
    sample_.volume_imaged_ml = volume.imaged_ml;
    sample_.volume_source = volume.source;
  }
  sample_.particles_per_ml =
      ParticlesPerMl(sample_.particle_count, sample_.volume_imaged_ml, sample_.dilution_factor);

  const std::string list_name = files_.list.filename().string();
  if (sample_.volume_source == VolumeSource::kNone) {
    Warn(diagnostics_,
         list_name,
         0,
         "",
         "no imaged volume in the summaries or the .ctx: concentrations are unavailable");
  } else if (sample_.volume_source != VolumeSource::kRunSummary &&
             sample_.volume_source != VolumeSource::kSummaryCsv) {
    Warn(diagnostics_,
         list_name,
         0,
         "",
         "imaged volume taken from the .ctx (" +
             std::string(VolumeSourceName(sample_.volume_source)) + "): no run summary gives it");
  }
  if (summary_particle_count_ && *summary_particle_count_ != sample_.particle_count) {
    Warn(diagnostics_,
         list_name,
         0,
         "",
         "the run summary counts " + std::to_string(*summary_particle_count_) +
             " particles, the list holds " + std::to_string(sample_.particle_count) +
             " (a filtered export); concentrations use the list");
  }
  if (!ids_in_order && files_.outlines) {
    Warn(diagnostics_,
         list_name,
         0,
         "id",
         "particle ids are not in increasing order; outlines of the .edg may be missing for some");
  }
  int64_t unknown_numbers = 0;
  for (const Classification& classification : classifications_) {
    for (const ClassMembers& members : classification.classes) {
      for (const int64_t number : members.particle_numbers) {
        unknown_numbers += std::binary_search(numbers_.begin(), numbers_.end(), number) ? 0 : 1;
      }
    }
  }
  if (unknown_numbers > 0) {
    Warn(diagnostics_,
         files_.classification->filename().string(),
         0,
         "",
         std::to_string(unknown_numbers) + " classified particle ids are not in the list; ignored");
  }
  if (files_.particle_csv) {
    CompareWithCsv();
  }
}

void RunReader::CompareWithCsv() {
  std::ifstream lst_stream;
  std::unique_ptr<ParticleTableReader> lst = OpenList(lst_stream);
  std::ifstream csv_stream(*files_.particle_csv, std::ios::binary);
  const std::string csv_name = files_.particle_csv->filename().string();
  try {
    CsvListReader csv(csv_stream, csv_name);
    Particle from_list;
    Particle from_csv;
    int64_t row = 0;
    while (true) {
      const bool more_list = lst->Next(from_list);
      const bool more_csv = csv.Next(from_csv);
      ++row;
      if (more_list != more_csv) {
        Warn(diagnostics_, csv_name, 0, "", "has a different number of particles than the list");
        return;
      }
      if (!more_list) {
        return;
      }
      if (from_list.number != from_csv.number || from_list.guid != from_csv.guid ||
          from_list.box != from_csv.box || from_list.collage_file != from_csv.collage_file) {
        Warn(diagnostics_,
             csv_name,
             row + 1,
             "",
             "particle " + std::to_string(from_list.number) +
                 " disagrees with the list; the list is used");
        return;
      }
    }
  } catch (const Error& error) {
    Warn(diagnostics_, csv_name, 0, "", std::string("not compared with the list: ") + error.what());
  }
}

std::vector<Label> RunReader::Labels() const {
  std::vector<Label> all;
  VisitLabels(1024, [&](std::span<const Label> labels) {
    all.insert(all.end(), labels.begin(), labels.end());
  });
  return all;
}

void RunReader::VisitLabels(size_t batch_size,
                            const std::function<void(std::span<const Label>)>& visit) const {
  const std::string author =
      "VisualSpreadsheet" +
      (sample_.software_version.empty() ? "" : " " + sample_.software_version);
  const std::string created_at = sample_.run_start_utc.empty() ? "" : sample_.run_start_utc + "Z";
  std::vector<Label> batch;
  batch.reserve(batch_size);
  for (const Classification& classification : classifications_) {
    for (const ClassMembers& members : classification.classes) {
      for (const int64_t number : members.particle_numbers) {
        if (!std::binary_search(numbers_.begin(), numbers_.end(), number)) {
          continue;  // reported by ScanList
        }
        batch.push_back(Label{.particle_number = number,
                              .name = members.name,
                              .source = kLabelSourceVisualSpreadsheet,
                              .classification = classification.name,
                              .author = author,
                              .created_at = created_at});
        if (batch.size() == batch_size) {
          visit(batch);
          batch.clear();
        }
      }
    }
  }
  if (!batch.empty()) {
    visit(batch);
  }
}

size_t RunReader::NextBatch(std::span<Particle> batch) {
  if (!list_) {
    list_ = OpenList(list_stream_);
    if (files_.outlines) {
      outline_stream_.open(*files_.outlines, std::ios::binary);
      outlines_ =
          std::make_unique<OutlineReader>(outline_stream_, files_.outlines->filename().string());
    }
    if (options_.images) {
      pages_ = std::make_unique<CollageLoader>(files_.folder, page_sequence_);
    }
  }
  crops_.resize(batch.size());
  mask_crops_.resize(batch.size());
  size_t filled = 0;
  for (; filled < batch.size() && !list_finished_; ++filled) {
    Particle& particle = batch[filled];
    if (!list_->Next(particle)) {
      ReportEndOfList();
      break;
    }
    particle.outlines =
        outlines_ ? outlines_->Take(particle.number, diagnostics_) : std::vector<ChainCode>{};
    particle.image_png.clear();
    particle.mask_png.clear();
    crops_[filled] = Image{};
    mask_crops_[filled] = Image{};
    if (options_.images) {
      CutImages(particle, crops_[filled], mask_crops_[filled]);
    }
  }
  // Encoding the PNGs is most of the work of ingest, so it runs on every core.
  ParallelFor(filled, options_.threads, [&](size_t i) {
    if (!crops_[i].Empty()) {
      batch[i].image_png = EncodePng(crops_[i]);
    }
    if (!mask_crops_[i].Empty()) {
      batch[i].mask_png = EncodePng(mask_crops_[i]);
    }
  });
  return filled;
}

bool RunReader::NextParticle(Particle& particle) {
  return NextBatch(std::span<Particle>(&particle, 1)) == 1;
}

void RunReader::ReportEndOfList() {
  list_finished_ = true;
  pages_.reset();
  collage_ = Image{};
  mask_ = Image{};
  if (boxes_outside_ > 0) {
    Warn(diagnostics_,
         files_.list.filename().string(),
         0,
         "image_x",
         std::to_string(boxes_outside_) +
             " particle boxes lie outside their collage; kept without image");
  }
  if (particles_without_image_ > 0) {
    Warn(diagnostics_,
         files_.list.filename().string(),
         0,
         "",
         std::to_string(particles_without_image_) + " particles kept without image");
  }
}

void RunReader::CutImages(const Particle& particle, Image& crop, Image& mask_crop) {
  if (particle.collage_file != collage_name_) {
    LoadCollage(particle.collage_file);
  }
  if (collage_.Empty()) {
    ++particles_without_image_;
    return;
  }
  if (particle.box.width <= 0 || particle.box.height <= 0 || !collage_.Contains(particle.box)) {
    ++boxes_outside_;
    ++particles_without_image_;
    return;
  }
  crop = Crop(collage_, particle.box);
  if (!mask_.Empty()) {
    mask_crop = Crop(mask_, particle.box);
  }
}

void RunReader::LoadCollage(const std::string& name) {
  collage_name_ = name;
  CollagePage page = pages_->Take(name);
  collage_ = std::move(page.collage);
  mask_ = std::move(page.mask);
  if (!page.problem.empty()) {
    const std::string message = "collage '" + name + "' " + page.problem;
    if (options_.strict) {
      throw Error(ErrorCode::kInvalidInput, message + " (--strict)");
    }
    if (collage_warnings_++ < kMaxNamedCollageWarnings) {
      Warn(diagnostics_, name, 0, "", message + "; its particles are kept without image");
    }
  }
  if (!page.mask_problem.empty()) {
    Warn(diagnostics_, MaskNameFor(name), 0, "", page.mask_problem);
  }
}

}  // namespace phytoflow
