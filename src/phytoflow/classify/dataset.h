#pragma once

// Labelled images for training and evaluation: a folder of class folders, a labels.csv
// ("path,label", paths relative to the CSV), or particles with validated labels from a store.

#include "phytoflow/classify/context.h"
#include "phytoflow/imaging/image.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace phytoflow {

struct LabelledImage {
  std::filesystem::path path;    // image file; empty when `encoded` holds the image
  std::vector<uint8_t> encoded;  // PNG bytes (particles from a store)
  std::string label;
  ParticleContext context;  // what is known besides the image
};

struct Dataset {
  std::vector<std::string> classes;  // sorted class names; targets index into it
  std::vector<LabelledImage> items;
  std::vector<int> targets;      // class index of each item
  std::string size_unit = "px";  // unit of context.vignette_width/height

  // Number of items per class.
  std::vector<int64_t> ClassCounts() const;
};

struct DatasetOptions {
  // µm per pixel of the images, when known (FlowCam 10X: about 0.55); makes vignette sizes µm.
  std::optional<double> pixel_size_um;
};

// Reads a folder of class folders (every image file inside a sub-folder is one item labelled
// by the sub-folder's name; files directly in the folder are ignored) or, when `location` is a
// file, a labels.csv with the header "path,label" and paths relative to the CSV's folder. Items
// are sorted by path for folders and kept in file order for a CSV. Image sizes are read from the
// files for the size context. Throws Error{kNotFound} / Error{kInvalidInput} naming the file and
// line.
Dataset LoadDataset(const std::filesystem::path& location, const DatasetOptions& options);

// Builds a dataset from items, deriving the classes and targets. Used for store datasets.
Dataset MakeDataset(std::vector<LabelledImage> items, std::string size_unit);

// Splits each class `fraction` / (1 − fraction) at random (seeded): the first dataset gets
// round(fraction × n) items of each class with at least one when a class has two or more (and
// at most n − 1, so the second gets one too), unless fraction is 0 or 1. Both parts keep all of
// `dataset.classes`, so targets mean the same in each; items keep their order.
std::pair<Dataset, Dataset> StratifiedSplit(const Dataset& dataset, double fraction, uint32_t seed);

// k stratified folds as (train, validation) pairs: fold i's validation part is the i-th; each
// item is in exactly one validation part. Each fold holds ⌊n/k⌋ or ⌈n/k⌉ of a class's n items.
std::vector<std::pair<Dataset, Dataset>> StratifiedFolds(const Dataset& dataset,
                                                         int folds,
                                                         uint32_t seed);

// Decodes an item's image (PNG, JPEG, TIFF, ...). Throws Error{kInvalidInput} naming the file
// (Error{kNotFound} when the file is missing).
Image LoadItemImage(const LabelledImage& item);

}  // namespace phytoflow
