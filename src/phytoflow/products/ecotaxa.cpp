#include "phytoflow/products/ecotaxa.h"

#include "phytoflow/core/error.h"
#include "phytoflow/core/version.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string_view>

#include <fmt/core.h>

namespace phytoflow {
namespace {

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

// EcoTaxa column names are lower case [a-z0-9_]: "Area (ABD) µm²" → "area_abd_um2".
std::string ColumnName(std::string_view name) {
  std::string ascii = Lower(name);
  // The unit characters FlowCam names use, in UTF-8: µ (micro sign and Greek mu), ², ³.
  for (const auto& [utf8, replacement] :
       {std::pair<std::string_view, std::string_view>{"\xC2\xB5", "u"},
        {"\xCE\xBC", "u"},
        {"\xC2\xB2", "2"},
        {"\xC2\xB3", "3"}}) {
    for (size_t at = ascii.find(utf8); at != std::string::npos; at = ascii.find(utf8, at)) {
      ascii.replace(at, utf8.size(), replacement);
    }
  }
  std::string out;
  for (const char c : ascii) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (allowed) {
      out += c;
    } else if (!out.empty() && out.back() != '_') {
      out += '_';
    }
  }
  while (!out.empty() && out.back() == '_') {
    out.pop_back();
  }
  return out;
}

std::string Field(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c == '\t' || c == '\n' || c == '\r') {
      c = ' ';
    }
  }
  return out;
}

// Shortest text that reads back to the same double; empty for a missing value.
std::string Number(double value) {
  return std::isfinite(value) ? fmt::format("{}", value) : "";
}
std::string Number(const std::optional<double>& value) {
  return value ? Number(*value) : std::string();
}

// "2024-05-13T09:15:00Z" → {"20240513", "091500"}; a date alone gives no time.
std::pair<std::string, std::string> DateAndTime(const std::string& iso) {
  if (iso.size() < 10) {
    return {};
  }
  const std::string date = iso.substr(0, 4) + iso.substr(5, 2) + iso.substr(8, 2);
  if (iso.size() < 16 || iso[10] != 'T') {
    return {date, ""};
  }
  const std::string seconds = iso.size() >= 19 && iso[16] == ':' ? iso.substr(17, 2) : "00";
  return {date, iso.substr(11, 2) + iso.substr(14, 2) + seconds};
}

struct TsvColumn {
  std::string name;
  char type;  // 't' text, 'f' number
};

bool AllDigits(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::vector<std::string> SplitTabs(std::string_view line) {
  std::vector<std::string> fields;
  size_t start = 0;
  while (true) {
    const size_t tab = line.find('\t', start);
    fields.emplace_back(
        line.substr(start, tab == std::string_view::npos ? line.npos : tab - start));
    if (tab == std::string_view::npos) {
      return fields;
    }
    start = tab + 1;
  }
}

std::string Trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '"')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '"')) {
    text.remove_suffix(1);
  }
  return std::string(text);
}

bool IsTypeRow(const std::vector<std::string>& fields) {
  for (const std::string& field : fields) {
    const std::string lower = Lower(Trimmed(field));
    if (lower != "[t]" && lower != "[f]") {
      return false;
    }
  }
  return true;
}

// EcoTaxa writes the status as a word; its database and some tools use one letter.
std::string NormalisedStatus(const std::string& text) {
  const std::string lower = Lower(Trimmed(text));
  if (lower == "v") {
    return "validated";
  }
  if (lower == "p") {
    return "predicted";
  }
  if (lower == "d") {
    return "dubious";
  }
  return lower;
}

// object_annotation_date "20240513" (or "2024-05-13") and _time "091500" (or "09:15:00") to
// "2024-05-13T09:15:00Z"; EcoTaxa keeps annotation times in UTC.
std::string AnnotationTime(std::string date, std::string time, const std::string& where) {
  date.erase(std::remove(date.begin(), date.end(), '-'), date.end());
  time.erase(std::remove(time.begin(), time.end(), ':'), time.end());
  if (date.empty()) {
    return "";
  }
  Check(date.size() == 8 && AllDigits(date),
        ErrorCode::kInvalidInput,
        where + ": field 'object_annotation_date': expected YYYYMMDD, found '" + date + "'");
  const std::string iso_date =
      date.substr(0, 4) + "-" + date.substr(4, 2) + "-" + date.substr(6, 2);
  if (time.empty()) {
    return iso_date;
  }
  Check(time.size() == 6 && AllDigits(time),
        ErrorCode::kInvalidInput,
        where + ": field 'object_annotation_time': expected HHMMSS, found '" + time + "'");
  return iso_date + "T" + time.substr(0, 2) + ":" + time.substr(2, 2) + ":" + time.substr(4, 2) +
         "Z";
}

}  // namespace

std::string EcoTaxaObjectId(const std::string& sample_id, int64_t particle_number) {
  return sample_id + "_" + std::to_string(particle_number);
}

std::string EcoTaxaImageName(const std::string& sample_id, int64_t particle_number) {
  return EcoTaxaObjectId(sample_id, particle_number) + ".png";
}

std::string EcoTaxaTsv(const Sample& sample,
                       std::span<const Particle> particles,
                       std::span<const ResolvedLabel> labels) {
  std::vector<TsvColumn> columns = {
      {"img_file_name", 't'},
      {"img_rank", 'f'},
      {"object_id", 't'},
      {"object_lat", 'f'},
      {"object_lon", 'f'},
      {"object_date", 't'},
      {"object_time", 't'},
      {"object_depth_min", 'f'},
      {"object_depth_max", 'f'},
      {"object_annotation_status", 't'},
      {"object_annotation_category", 't'},
      {"object_annotation_person_name", 't'},
      {"object_flowcam_guid", 't'},
      {"object_flowcam_particle_number", 'f'},
      {"object_particles_per_chain", 'f'},
      {"object_esd_um", 'f'},
      {"object_abd_um", 'f'},
      {"object_biovolume_esd_um3", 'f'},
      {"object_biovolume_abd_um3", 'f'},
  };
  // Every list measurement that does not repeat a column above (esd_um, abd_um do).
  std::set<std::string> used;
  for (const TsvColumn& column : columns) {
    used.insert(column.name);
  }
  std::vector<size_t> measurement_indices;
  for (size_t i = 0; i < sample.measurement_names.size(); ++i) {
    const std::string name = "object_" + ColumnName(sample.measurement_names[i]);
    if (used.insert(name).second) {
      columns.push_back({name, 'f'});
      measurement_indices.push_back(i);
    }
  }
  const std::vector<TsvColumn> sample_columns = {
      {"sample_id", 't'},
      {"sample_station", 't'},
      {"sample_campaign", 't'},
      {"acq_id", 't'},
      {"acq_instrument", 't'},
      {"acq_magnification", 'f'},
      {"acq_pixel_size_um", 'f'},
      {"acq_volume_imaged_ml", 'f'},
      {"process_id", 't'},
      {"process_software", 't'},
  };
  columns.insert(columns.end(), sample_columns.begin(), sample_columns.end());

  std::string text;
  for (size_t i = 0; i < columns.size(); ++i) {
    text += (i ? "\t" : "") + columns[i].name;
  }
  text += '\n';
  for (size_t i = 0; i < columns.size(); ++i) {
    text += (i ? "\t[" : "[") + std::string(1, columns[i].type) + "]";
  }
  text += '\n';

  std::map<int64_t, const ResolvedLabel*> label_of;
  for (const ResolvedLabel& label : labels) {
    label_of[label.particle_number] = &label;
  }
  const SampleMetadata& metadata = sample.metadata;
  const auto [date, time] = DateAndTime(metadata.sampled_at);
  const std::vector<std::string> sample_values = {
      sample.id,
      metadata.station,
      metadata.campaign,
      sample.id,
      "FlowCam",
      Number(sample.magnification),
      Number(sample.calibration_um_per_px),
      Number(sample.volume_imaged_ml),
      "phytoflow_" + sample.id,
      "phytoflow " + std::string(Version()),
  };
  for (const Particle& particle : particles) {
    std::string status;
    std::string category;
    std::string person;
    if (const auto found = label_of.find(particle.number); found != label_of.end()) {
      const ResolvedLabel& label = *found->second;
      // Uncertain and unlabelled particles go to EcoTaxa without a category, to be sorted there.
      if (label.status == LabelStatus::kValidated || label.status == LabelStatus::kPredicted) {
        status = label.status == LabelStatus::kValidated ? "validated" : "predicted";
        category = label.name;
        person = label.status == LabelStatus::kValidated ? label.identified_by : "";
      }
    }
    std::vector<std::string> values = {
        EcoTaxaImageName(sample.id, particle.number),
        "0",
        EcoTaxaObjectId(sample.id, particle.number),
        Number(metadata.latitude),
        Number(metadata.longitude),
        date,
        time,
        Number(metadata.depth_min_m),
        Number(metadata.depth_max_m),
        status,
        category,
        person,
        particle.guid,
        std::to_string(particle.number),
        std::to_string(particle.particles_per_chain),
        Number(particle.esd_um),
        Number(particle.abd_um),
        Number(particle.biovolume_esd_um3),
        Number(particle.biovolume_abd_um3),
    };
    for (const size_t index : measurement_indices) {
      values.push_back(index < particle.measurements.size() ? Number(particle.measurements[index])
                                                            : "");
    }
    values.insert(values.end(), sample_values.begin(), sample_values.end());
    for (size_t i = 0; i < values.size(); ++i) {
      text += (i ? "\t" : "") + Field(values[i]);
    }
    text += '\n';
  }
  return text;
}

std::vector<EcoTaxaRow> ParseEcoTaxaTsv(const std::string& text, const std::string& source) {
  std::vector<std::string> lines;
  size_t start = text.starts_with("\xEF\xBB\xBF") ? 3 : 0;  // UTF-8 byte order mark
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      end = text.size();
    }
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    lines.push_back(std::move(line));
    start = end + 1;
  }
  Check(!lines.empty() && !lines.front().empty(),
        ErrorCode::kInvalidInput,
        source + ":1: expected a header row of EcoTaxa column names, found an empty line");

  std::map<std::string, size_t> column_of;
  const std::vector<std::string> header = SplitTabs(lines.front());
  for (size_t i = 0; i < header.size(); ++i) {
    column_of.emplace(Lower(Trimmed(header[i])), i);
  }
  Check(column_of.contains("object_id"),
        ErrorCode::kInvalidInput,
        source + ":1: no object_id column (is this an EcoTaxa TSV?)");
  const auto column = [&](const char* name) -> std::optional<size_t> {
    const auto found = column_of.find(name);
    return found == column_of.end() ? std::nullopt : std::optional<size_t>(found->second);
  };
  const auto object_id = column("object_id");
  const auto guid = column("object_flowcam_guid");
  const auto image = column("img_file_name");
  const auto status = column("object_annotation_status");
  const auto category = column("object_annotation_category");
  const auto hierarchy = column("object_annotation_hierarchy");
  const auto person = column("object_annotation_person_name");
  const auto date = column("object_annotation_date");
  const auto time = column("object_annotation_time");

  std::vector<EcoTaxaRow> rows;
  for (size_t line_index = 1; line_index < lines.size(); ++line_index) {
    const std::string& line = lines[line_index];
    if (line.find_first_not_of(" \t") == std::string::npos) {
      continue;
    }
    const int line_number = static_cast<int>(line_index) + 1;
    const std::vector<std::string> fields = SplitTabs(line);
    if (line_index == 1 && IsTypeRow(fields)) {
      continue;
    }
    const std::string where = source + ":" + std::to_string(line_number);
    Check(fields.size() == header.size(),
          ErrorCode::kInvalidInput,
          fmt::format("{}: expected {} tab-separated fields as in the header, found {}",
                      where,
                      header.size(),
                      fields.size()));
    const auto get = [&](const std::optional<size_t>& index) {
      return index ? Trimmed(fields[*index]) : std::string();
    };
    EcoTaxaRow row{.line = line_number,
                   .object_id = get(object_id),
                   .guid = get(guid),
                   .image_file = get(image),
                   .status = NormalisedStatus(get(status)),
                   .category = get(category),
                   .hierarchy = get(hierarchy),
                   .annotator = get(person),
                   .annotated_at = AnnotationTime(get(date), get(time), where)};
    Check(!row.object_id.empty(), ErrorCode::kInvalidInput, where + ": field 'object_id': empty");
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace phytoflow
