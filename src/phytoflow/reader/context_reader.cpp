#include "phytoflow/reader/context_reader.h"

#include "phytoflow/reader/text.h"

namespace phytoflow {

std::optional<std::string> KeyValueFile::Find(std::string_view section,
                                              std::string_view key) const {
  for (const ContextEntry& entry : entries_) {
    if (EqualsIgnoreCase(entry.section, section) && EqualsIgnoreCase(entry.key, key)) {
      const std::string_view value = Trim(entry.value);
      if (value.empty()) {
        return std::nullopt;
      }
      return std::string(value);
    }
  }
  return std::nullopt;
}

std::optional<double> KeyValueFile::FindNumber(std::string_view section,
                                               std::string_view key) const {
  const auto value = Find(section, key);
  return value ? ParseLeadingNumber(*value) : std::nullopt;
}

KeyValueFile ReadContext(std::istream& input, const std::string& file, Diagnostics& diagnostics) {
  std::vector<ContextEntry> entries;
  LineReader lines(input);
  std::string line;
  std::string section;
  while (lines.Next(line)) {
    const std::string_view text = Trim(line);
    if (text.empty() || text.front() == ';' || text.front() == '#') {
      continue;
    }
    if (text.front() == '[' && text.back() == ']') {
      section = std::string(Trim(text.substr(1, text.size() - 2)));
      continue;
    }
    const auto equals = text.find('=');
    if (equals == std::string_view::npos || equals == 0) {
      Warn(diagnostics,
           file,
           lines.LineNumber(),
           "",
           "expected 'Key=Value' or '[Section]', found '" + std::string(text) + "'; line ignored");
      continue;
    }
    // Values are kept verbatim apart from surrounding blanks (VS writes empty values as "Key= ").
    entries.push_back(ContextEntry{.section = section,
                                   .key = std::string(Trim(text.substr(0, equals))),
                                   .value = std::string(Trim(text.substr(equals + 1)))});
  }
  return KeyValueFile(std::move(entries));
}

KeyValueFile ReadRunSummary(std::istream& input,
                            const std::string& file,
                            Diagnostics& diagnostics) {
  std::vector<ContextEntry> entries;
  LineReader lines(input);
  std::string line;
  std::string section;
  while (lines.Next(line)) {
    const std::string_view text = Trim(line);
    if (text.empty()) {
      continue;
    }
    const bool indented = line.front() == '\t' || line.front() == ' ';
    if (!indented && text.back() == ':') {
      section = std::string(text.substr(0, text.size() - 1));
      continue;
    }
    const auto colon = text.find(':');
    if (colon == std::string_view::npos) {
      Warn(diagnostics,
           file,
           lines.LineNumber(),
           "",
           "expected 'Label: value', found '" + std::string(text) + "'; line ignored");
      continue;
    }
    entries.push_back(ContextEntry{.section = section,
                                   .key = std::string(Trim(text.substr(0, colon))),
                                   .value = std::string(Trim(text.substr(colon + 1)))});
  }
  return KeyValueFile(std::move(entries));
}

KeyValueFile ReadSummaryCsv(std::istream& input,
                            const std::string& file,
                            Diagnostics& diagnostics) {
  (void)file;
  (void)diagnostics;
  std::vector<ContextEntry> entries;
  LineReader lines(input);
  std::string line;
  std::string section;
  while (lines.Next(line)) {
    if (Trim(line).empty()) {
      continue;
    }
    const std::vector<std::string> fields = SplitCsvLine(line);
    const std::string key(Trim(fields[0]));
    if (key == "Summary Stats") {
      section = "Summary Stats";
      continue;
    }
    std::string value;
    for (size_t i = 1; i < fields.size(); ++i) {
      value += (i > 1 ? "," : "") + std::string(Trim(fields[i]));
    }
    // After the statistics table come setting lines such as "Particle Segmentation,Dark ...".
    if (section == "Summary Stats" && fields.size() < 6) {
      section = "Settings";
    }
    entries.push_back(ContextEntry{.section = section, .key = key, .value = value});
  }
  return KeyValueFile(std::move(entries));
}

}  // namespace phytoflow
