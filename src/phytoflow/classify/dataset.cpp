#include "phytoflow/classify/dataset.h"

#include "phytoflow/core/error.h"
#include "phytoflow/core/parallel.h"
#include "phytoflow/imaging/decode.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <exception>
#include <fstream>
#include <map>
#include <random>
#include <string_view>
#include <system_error>

namespace phytoflow {
namespace {

constexpr const char* kImageExtensions[] = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"};

std::string Lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return lower;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())) != 0) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())) != 0) {
    text.remove_suffix(1);
  }
  return text;
}

bool IsImageFile(const std::filesystem::path& path) {
  const std::string extension = Lower(path.extension().string());
  return std::find(std::begin(kImageExtensions), std::end(kImageExtensions), extension) !=
         std::end(kImageExtensions);
}

// Hidden entries (".DS_Store", macOS "._x.jpg" resource forks) are never data.
bool IsHidden(const std::filesystem::path& path) {
  const std::string name = path.filename().string();
  return !name.empty() && name.front() == '.';
}

std::string Located(const std::filesystem::path& file, int64_t line, const std::string& message) {
  return file.string() + ":" + std::to_string(line) + ": " + message;
}

// Splits one CSV line; fields may be double-quoted with "" for a quote. Returns false when a
// quote is not closed.
bool SplitCsvLine(std::string_view line, std::vector<std::string>& fields) {
  fields.clear();
  std::string field;
  bool quoted = false;
  for (size_t pos = 0; pos < line.size(); ++pos) {
    const char c = line[pos];
    if (quoted) {
      if (c == '"' && pos + 1 < line.size() && line[pos + 1] == '"') {
        field += '"';
        ++pos;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.push_back(std::string(Trim(field)));
      field.clear();
    } else {
      field += c;
    }
  }
  fields.push_back(std::string(Trim(field)));
  return !quoted;
}

std::vector<LabelledImage> ReadClassFolders(const std::filesystem::path& folder) {
  std::vector<LabelledImage> items;
  try {
    for (const auto& class_entry : std::filesystem::directory_iterator(folder)) {
      if (!class_entry.is_directory() || IsHidden(class_entry.path())) {
        continue;
      }
      const std::string label = class_entry.path().filename().string();
      for (const auto& file_entry : std::filesystem::directory_iterator(class_entry.path())) {
        if (file_entry.is_regular_file() && !IsHidden(file_entry.path()) &&
            IsImageFile(file_entry.path())) {
          items.push_back(LabelledImage{.path = file_entry.path(), .encoded = {}, .label = label});
        }
      }
    }
  } catch (const std::filesystem::filesystem_error& error) {
    throw Error(ErrorCode::kUnavailable, folder.string() + ": cannot list: " + error.what());
  }
  // Directory order depends on the file system; sort so every run sees the same items.
  std::sort(items.begin(), items.end(), [](const LabelledImage& a, const LabelledImage& b) {
    return a.path < b.path;
  });
  if (items.empty()) {
    throw Error(
        ErrorCode::kInvalidInput,
        folder.string() +
            ": no images found; expected <folder>/<class>/<image>.png|jpg|jpeg|tif|tiff|bmp "
            "or a labels.csv");
  }
  return items;
}

// Items of a labels.csv with the 1-based line each came from.
std::vector<LabelledImage> ReadLabelsCsv(const std::filesystem::path& csv,
                                         std::vector<int64_t>& lines) {
  std::ifstream in(csv);
  if (!in) {
    throw Error(ErrorCode::kNotFound, csv.string() + ": cannot open labels file");
  }
  const std::filesystem::path base = csv.parent_path();
  std::vector<LabelledImage> items;
  std::vector<std::string> fields;
  std::string line;
  int64_t line_number = 0;
  size_t path_column = 0;
  size_t label_column = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    if (line_number == 1 && line.starts_with("\xEF\xBB\xBF")) {
      line.erase(0, 3);  // UTF-8 byte order mark written by spreadsheet programs
    }
    if (!SplitCsvLine(line, fields)) {
      throw Error(ErrorCode::kInvalidInput, Located(csv, line_number, "unclosed quote"));
    }
    if (line_number == 1) {
      const auto find = [&](const char* name) {
        for (size_t column = 0; column < fields.size(); ++column) {
          if (Lower(fields[column]) == name) {
            return column;
          }
        }
        throw Error(ErrorCode::kInvalidInput,
                    Located(csv,
                            1,
                            std::string("expected the header \"path,label\", found \"") + line +
                                "\" (no '" + name + "' column)"));
      };
      path_column = find("path");
      label_column = find("label");
      continue;
    }
    if (Trim(line).empty()) {
      continue;
    }
    const size_t needed = std::max(path_column, label_column) + 1;
    if (fields.size() < needed) {
      throw Error(ErrorCode::kInvalidInput,
                  Located(csv,
                          line_number,
                          "expected " + std::to_string(needed) + " fields (path,label), found " +
                              std::to_string(fields.size())));
    }
    if (fields[path_column].empty() || fields[label_column].empty()) {
      throw Error(ErrorCode::kInvalidInput,
                  Located(csv, line_number, "expected a path and a label, found an empty field"));
    }
    const std::filesystem::path path = base / fields[path_column];
    std::error_code error;
    if (!std::filesystem::is_regular_file(path, error)) {
      throw Error(ErrorCode::kNotFound,
                  Located(csv, line_number, "image '" + path.string() + "' does not exist"));
    }
    items.push_back(LabelledImage{.path = path, .encoded = {}, .label = fields[label_column]});
    lines.push_back(line_number);
  }
  if (line_number == 0) {
    throw Error(ErrorCode::kInvalidInput,
                csv.string() + ": empty, expected a \"path,label\" header");
  }
  if (items.empty()) {
    throw Error(ErrorCode::kInvalidInput, csv.string() + ": no rows after the header");
  }
  return items;
}

// Same generator output on every standard library: std::shuffle's use of the engine is
// implementation-defined, so splits would differ between GCC and clang builds.
void Shuffle(std::vector<size_t>& values, std::mt19937& engine) {
  for (size_t idx = values.size(); idx > 1; --idx) {
    const size_t other = engine() % idx;
    std::swap(values[idx - 1], values[other]);
  }
}

// Item indices of each class, in dataset order.
std::vector<std::vector<size_t>> IndicesByClass(const Dataset& dataset) {
  if (dataset.targets.size() != dataset.items.size()) {
    throw Error(ErrorCode::kInvalidInput,
                "dataset has " + std::to_string(dataset.items.size()) + " items but " +
                    std::to_string(dataset.targets.size()) + " targets");
  }
  std::vector<std::vector<size_t>> by_class(dataset.classes.size());
  for (size_t item_idx = 0; item_idx < dataset.targets.size(); ++item_idx) {
    const int target = dataset.targets[item_idx];
    if (target < 0 || static_cast<size_t>(target) >= by_class.size()) {
      throw Error(ErrorCode::kInvalidInput,
                  "dataset item " + std::to_string(item_idx) + " has target " +
                      std::to_string(target) + " outside the " + std::to_string(by_class.size()) +
                      " classes");
    }
    by_class[static_cast<size_t>(target)].push_back(item_idx);
  }
  return by_class;
}

// The items at `indices` (taken in ascending order), with the same classes as `dataset` so
// targets keep their meaning across the parts.
Dataset Subset(const Dataset& dataset, std::vector<size_t> indices) {
  std::sort(indices.begin(), indices.end());
  Dataset subset{
      .classes = dataset.classes, .items = {}, .targets = {}, .size_unit = dataset.size_unit};
  subset.items.reserve(indices.size());
  subset.targets.reserve(indices.size());
  for (size_t item_idx : indices) {
    subset.items.push_back(dataset.items[item_idx]);
    subset.targets.push_back(dataset.targets[item_idx]);
  }
  return subset;
}

}  // namespace

std::vector<int64_t> Dataset::ClassCounts() const {
  std::vector<int64_t> counts(classes.size(), 0);
  for (int target : targets) {
    if (target >= 0 && static_cast<size_t>(target) < counts.size()) {
      ++counts[static_cast<size_t>(target)];
    }
  }
  return counts;
}

Dataset LoadDataset(const std::filesystem::path& location, const DatasetOptions& options) {
  if (options.pixel_size_um &&
      (!std::isfinite(*options.pixel_size_um) || *options.pixel_size_um <= 0.0)) {
    throw Error(
        ErrorCode::kInvalidInput,
        "pixel_size_um must be a positive number, found " + std::to_string(*options.pixel_size_um));
  }
  std::error_code error;
  const bool is_folder = std::filesystem::is_directory(location, error);
  if (!is_folder && !std::filesystem::is_regular_file(location, error)) {
    throw Error(ErrorCode::kNotFound,
                location.string() + ": no such dataset folder or labels file");
  }
  std::vector<int64_t> csv_lines;
  std::vector<LabelledImage> items =
      is_folder ? ReadClassFolders(location) : ReadLabelsCsv(location, csv_lines);

  // Vignette sizes for the size context: decoding is the simple way to read every format's
  // header, and labelled sets are small.
  std::vector<std::exception_ptr> failures(items.size());
  ParallelFor(items.size(), DefaultThreadCount(), [&](size_t item_idx) {
    LabelledImage& item = items[item_idx];
    try {
      const Image image = ReadImage(item.path);
      const double scale = options.pixel_size_um.value_or(1.0);
      item.context.vignette_width = image.width * scale;
      item.context.vignette_height = image.height * scale;
    } catch (const Error& failure) {
      failures[item_idx] =
          csv_lines.empty()
              ? std::current_exception()
              : std::make_exception_ptr(
                    Error(failure.Code(), Located(location, csv_lines[item_idx], failure.what())));
    }
  });
  // The first failure in item order, so the message does not depend on thread timing.
  for (const std::exception_ptr& failure : failures) {
    if (failure) {
      std::rethrow_exception(failure);
    }
  }
  return MakeDataset(std::move(items), options.pixel_size_um ? "um" : "px");
}

Dataset MakeDataset(std::vector<LabelledImage> items, std::string size_unit) {
  std::map<std::string, int> class_index;
  for (size_t item_idx = 0; item_idx < items.size(); ++item_idx) {
    if (items[item_idx].label.empty()) {
      throw Error(ErrorCode::kInvalidInput,
                  "dataset item " + std::to_string(item_idx) + " (" +
                      items[item_idx].path.string() + ") has an empty label");
    }
    class_index.emplace(items[item_idx].label, 0);
  }
  Dataset dataset{.classes = {}, .items = {}, .targets = {}, .size_unit = std::move(size_unit)};
  for (auto& [name, index] : class_index) {
    index = static_cast<int>(dataset.classes.size());
    dataset.classes.push_back(name);
  }
  dataset.targets.reserve(items.size());
  for (const LabelledImage& item : items) {
    dataset.targets.push_back(class_index.at(item.label));
  }
  dataset.items = std::move(items);
  return dataset;
}

std::pair<Dataset, Dataset> StratifiedSplit(const Dataset& dataset,
                                            double fraction,
                                            uint32_t seed) {
  if (!(fraction >= 0.0 && fraction <= 1.0)) {
    throw Error(ErrorCode::kInvalidInput,
                "split fraction must be in [0, 1], found " + std::to_string(fraction));
  }
  std::mt19937 engine(seed);
  std::vector<size_t> first;
  std::vector<size_t> second;
  for (std::vector<size_t>& indices : IndicesByClass(dataset)) {
    Shuffle(indices, engine);
    const size_t count = indices.size();
    auto take = static_cast<size_t>(std::llround(fraction * static_cast<double>(count)));
    if (fraction > 0.0 && fraction < 1.0 && count >= 2) {
      take = std::clamp<size_t>(take, 1, count - 1);  // both parts see every class they can
    }
    first.insert(first.end(), indices.begin(), indices.begin() + static_cast<std::ptrdiff_t>(take));
    second.insert(second.end(), indices.begin() + static_cast<std::ptrdiff_t>(take), indices.end());
  }
  return {Subset(dataset, std::move(first)), Subset(dataset, std::move(second))};
}

std::vector<std::pair<Dataset, Dataset>> StratifiedFolds(const Dataset& dataset,
                                                         int folds,
                                                         uint32_t seed) {
  if (folds < 2) {
    throw Error(ErrorCode::kInvalidInput, "need at least 2 folds, found " + std::to_string(folds));
  }
  const auto fold_count = static_cast<size_t>(folds);
  std::mt19937 engine(seed);
  std::vector<size_t> fold_of(dataset.items.size(), 0);
  // Dealing continues where the previous class stopped, so small classes do not all land in
  // the first folds and fold sizes differ by at most one.
  size_t dealt = 0;
  for (std::vector<size_t>& indices : IndicesByClass(dataset)) {
    Shuffle(indices, engine);
    for (size_t item_idx : indices) {
      fold_of[item_idx] = dealt++ % fold_count;
    }
  }
  std::vector<std::pair<Dataset, Dataset>> result;
  for (size_t fold_idx = 0; fold_idx < fold_count; ++fold_idx) {
    std::vector<size_t> train;
    std::vector<size_t> validation;
    for (size_t item_idx = 0; item_idx < fold_of.size(); ++item_idx) {
      (fold_of[item_idx] == fold_idx ? validation : train).push_back(item_idx);
    }
    result.emplace_back(Subset(dataset, std::move(train)), Subset(dataset, std::move(validation)));
  }
  return result;
}

Image LoadItemImage(const LabelledImage& item) {
  if (!item.encoded.empty()) {
    return DecodeImage(
        item.encoded,
        item.path.empty() ? "image of item labelled '" + item.label + "'" : item.path.string());
  }
  if (item.path.empty()) {
    throw Error(ErrorCode::kInvalidInput,
                "item labelled '" + item.label + "' has neither a path nor image bytes");
  }
  return ReadImage(item.path);
}

}  // namespace phytoflow
