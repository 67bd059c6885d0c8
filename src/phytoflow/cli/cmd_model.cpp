// train, evaluate, predict and classify: the classifier commands. LibTorch is wired here (the
// composition root); the app layer only sees the Classifier interface.

#include "phytoflow/app/classification.h"
#include "phytoflow/cli/commands.h"
#include "phytoflow/cli/default_model.h"
#include "phytoflow/cli/json_output.h"
#include "phytoflow/cli/progress_bar.h"
#include "phytoflow/core/error.h"

#include <fstream>
#include <iostream>

#include <fmt/core.h>

#ifdef PHYTOFLOW_WITH_TORCH
#include "phytoflow/classify/torch/torch_model.h"
#endif

namespace phytoflow {
namespace {

namespace fs = std::filesystem;

#ifdef PHYTOFLOW_WITH_TORCH
std::unique_ptr<Classifier> OpenClassifier(const std::string& model,
                                           int threads,
                                           const std::string& device,
                                           bool tta) {
  return OpenTorchClassifier(model,
                             {.threads = threads, .device = device, .test_time_augmentation = tta});
}
#else
[[noreturn]] void NoTorch() {
  throw Error(ErrorCode::kUnavailable,
              "this phytoflow was built without LibTorch (PHYTOFLOW_WITH_TORCH=OFF)");
}
std::unique_ptr<Classifier> OpenClassifier(const std::string&, int, const std::string&, bool) {
  NoTorch();
}
#endif

// A dataset named on the command line: a folder of class folders, a labels.csv, or
// "store[:SOURCE[:CLASSIFICATION]]" for labelled particles of the store.
Dataset LoadDatasetArgument(const std::string& location,
                            const std::string& store_uri,
                            std::optional<double> pixel_size_um) {
  if (const auto filter = ParseStoreDataset(location)) {
    const std::unique_ptr<Store> store = OpenStore(store_uri);
    return DatasetFromStore(*store, *filter);
  }
  return LoadDataset(location, {.pixel_size_um = pixel_size_um});
}

struct ModelArguments {
  std::string data;
  std::string validation;
  double validation_fraction = 0.2;
  std::string out;
  std::string model;
  std::string store;
  std::vector<std::string> files;
  std::string sample_id;
  bool all = false;
  bool json = false;
  std::string report_dir;
  int top_k = 5;
  std::optional<double> pixel_size_um;
  int threads = 0;
  std::string device = "auto";
  bool tta = false;  // test-time augmentation
#ifdef PHYTOFLOW_WITH_TORCH
  TrainOptions train;
  std::string context = "size";
  std::string resume;
  std::string taxa;
#endif
};

void AddRuntimeOptions(CLI::App& command, ModelArguments& arguments) {
  command.add_option("--threads", arguments.threads, "CPU threads (default: every core)");
  command.add_option("--device", arguments.device, "auto, cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
}

nlohmann::json ReportJson(const EvaluationReport& report) {
  nlohmann::json per_class = nlohmann::json::array();
  for (const ClassMetrics& metrics : report.per_class) {
    per_class.push_back({{"name", metrics.name},
                         {"precision", metrics.precision},
                         {"recall", metrics.recall},
                         {"f1", metrics.f1},
                         {"support", metrics.support}});
  }
  return {{"items", report.items},
          {"top1", report.top1},
          {"top5", report.top5},
          {"macro_f1", report.macro_f1},
          {"balanced_accuracy", report.balanced_accuracy},
          {"ece", report.ece},
          {"per_class", per_class},
          {"confusion", report.confusion}};
}

void PrintReport(const EvaluationReport& report) {
  fmt::print("items              {}\n", report.items);
  fmt::print("top-1              {:.2f} %\n", report.top1 * 100);
  fmt::print("top-5              {:.2f} %\n", report.top5 * 100);
  fmt::print("macro-F1           {:.2f} %\n", report.macro_f1 * 100);
  fmt::print("balanced accuracy  {:.2f} %\n", report.balanced_accuracy * 100);
  fmt::print("calibration error  {:.3f} (ECE)\n", report.ece);
  fmt::print("{:<32} {:>9} {:>9} {:>9} {:>8}\n", "class", "precision", "recall", "F1", "support");
  for (const ClassMetrics& metrics : report.per_class) {
    fmt::print("{:<32} {:>9.3f} {:>9.3f} {:>9.3f} {:>8}\n",
               metrics.name,
               metrics.precision,
               metrics.recall,
               metrics.f1,
               metrics.support);
  }
}

void WriteText(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  Check(static_cast<bool>(out), ErrorCode::kUnavailable, "cannot write " + path.string());
}

#ifdef PHYTOFLOW_WITH_TORCH
// Reads "class<TAB>aphia_id" lines (a header line starting with "class" is allowed; an empty
// id means the class is not a taxon, e.g. detritus).
std::vector<ModelClass> ReadTaxa(const std::string& path) {
  std::ifstream in(path);
  Check(static_cast<bool>(in), ErrorCode::kNotFound, path + ": cannot be opened");
  std::vector<ModelClass> classes;
  std::string line;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    if (line.empty() || (line_number == 1 && line.starts_with("class"))) {
      continue;
    }
    const auto tab = line.find('\t');
    ModelClass model_class{.name = line.substr(0, tab)};
    if (tab != std::string::npos && tab + 1 < line.size()) {
      try {
        size_t used = 0;
        model_class.aphia_id = std::stoll(line.substr(tab + 1), &used);
        Check(used == line.size() - tab - 1 && *model_class.aphia_id > 0,
              ErrorCode::kInvalidInput,
              "");
      } catch (const std::exception&) {
        throw Error(ErrorCode::kInvalidInput,
                    path + ":" + std::to_string(line_number) +
                        ": field 'aphia_id': expected a positive integer, found '" +
                        line.substr(tab + 1) + "'");
      }
    }
    classes.push_back(std::move(model_class));
  }
  return classes;
}

void Train(ModelArguments& arguments) {
  const Dataset data =
      LoadDatasetArgument(arguments.data, arguments.store, arguments.pixel_size_um);
  Dataset train;
  Dataset validation;
  if (!arguments.validation.empty()) {
    train = data;
    validation =
        LoadDatasetArgument(arguments.validation, arguments.store, arguments.pixel_size_um);
  } else {
    std::tie(validation, train) =
        StratifiedSplit(data, arguments.validation_fraction, arguments.train.seed);
  }
  TrainOptions options = arguments.train;
  options.context = ParseContextMode(arguments.context);
  options.threads = arguments.threads;
  options.device = arguments.device;
  if (!arguments.resume.empty()) {
    options.resume = arguments.resume;
  }
  if (!arguments.taxa.empty()) {
    options.class_info = ReadTaxa(arguments.taxa);
  }
  ProgressBar progress;
  options.on_progress = [&](const TrainProgress& p) {
    progress.Update(
        fmt::format("epoch {}/{} loss {:.3f} acc {:.3f}", p.epoch, p.epochs, p.loss, p.accuracy),
        p.step,
        p.steps);
    if (p.validation_macro_f1 && !arguments.json) {
      progress.Finish();
      fmt::print(stderr,
                 "epoch {}: loss {:.4f}, train accuracy {:.3f}, validation macro-F1 {:.4f}\n",
                 p.epoch,
                 p.loss,
                 p.accuracy,
                 *p.validation_macro_f1);
    }
  };
  const TrainResult result = TrainModel(train, validation, options, arguments.out);
  progress.Finish();
  if (arguments.json) {
    nlohmann::json json = ReportJson(result.validation);
    json["model_id"] = result.info.id;
    json["model"] = arguments.out;
    json["best_epoch"] = result.best_epoch;
    json["epochs_run"] = result.epochs_run;
    json["seconds"] = result.seconds;
    json["train_images_per_second"] = result.train_images_per_second;
    json["temperature"] = result.info.temperature;
    std::cout << json.dump(2) << "\n";
    return;
  }
  fmt::print("wrote {} ({}), best epoch {} of {}, {:.0f} s ({:.0f} images/s)\n",
             arguments.out,
             result.info.id,
             result.best_epoch,
             result.epochs_run,
             result.seconds,
             result.train_images_per_second);
  fmt::print("validation ({} items, calibrated, temperature {:.3f}):\n",
             result.validation.items,
             result.info.temperature);
  PrintReport(result.validation);
}
#endif

void EvaluateCommand(const ModelArguments& arguments) {
  const std::unique_ptr<Classifier> classifier =
      OpenClassifier(arguments.model, arguments.threads, arguments.device, arguments.tta);
  const Dataset data =
      LoadDatasetArgument(arguments.data, arguments.store, arguments.pixel_size_um);
  const ModelEvaluation evaluation = EvaluateModel(*classifier, data);
  nlohmann::json json = ReportJson(evaluation.report);
  json["model_id"] = classifier->Info().id;
  json["skipped"] = evaluation.skipped;
  if (!arguments.report_dir.empty()) {
    fs::create_directories(arguments.report_dir);
    WriteText(fs::path(arguments.report_dir) / "metrics.json", json.dump(2) + "\n");
    WriteText(fs::path(arguments.report_dir) / "confusion.csv", ConfusionCsv(evaluation.report));
    WriteText(fs::path(arguments.report_dir) / "confusion.svg", ConfusionSvg(evaluation.report));
  }
  if (arguments.json) {
    std::cout << json.dump(2) << "\n";
    return;
  }
  fmt::print("model {} on {}{}\n",
             classifier->Info().id,
             arguments.data,
             evaluation.skipped
                 ? fmt::format(" ({} items with unknown labels skipped)", evaluation.skipped)
                 : "");
  PrintReport(evaluation.report);
}

void PredictCommand(const ModelArguments& arguments) {
  const std::unique_ptr<Classifier> classifier =
      OpenClassifier(arguments.model, arguments.threads, arguments.device, arguments.tta);
  std::vector<fs::path> files(arguments.files.begin(), arguments.files.end());
  const std::vector<FilePrediction> predictions =
      PredictFiles(*classifier, files, arguments.pixel_size_um, arguments.top_k);
  nlohmann::json all = nlohmann::json::array();
  for (const FilePrediction& file : predictions) {
    nlohmann::json top = nlohmann::json::array();
    for (const auto& [name, probability] : file.prediction.top_k) {
      top.push_back({{"label", name}, {"probability", probability}});
    }
    all.push_back({{"file", file.path.string()},
                   {"label", file.prediction.label},
                   {"probability", file.prediction.probability},
                   {"top_k", top}});
    if (!arguments.json) {
      fmt::print(
          "{}\t{}\t{:.3f}", file.path.string(), file.prediction.label, file.prediction.probability);
      for (const auto& [name, probability] : file.prediction.top_k) {
        fmt::print("\t{}:{:.3f}", name, probability);
      }
      fmt::print("\n");
    }
  }
  if (arguments.json) {
    std::cout << all.dump(2) << "\n";
  }
}

void ClassifyCommand(const ModelArguments& arguments) {
  Check(arguments.all != !arguments.sample_id.empty(),
        ErrorCode::kInvalidInput,
        "classify: give either a SAMPLE or --all");
  const std::string model = arguments.model.empty() ? DefaultModelPath() : arguments.model;
  const std::unique_ptr<Classifier> classifier =
      OpenClassifier(model, arguments.threads, arguments.device, arguments.tta);
  const std::unique_ptr<Store> store = OpenStore(arguments.store);
  std::vector<std::string> sample_ids;
  if (arguments.all) {
    for (const Sample& sample : store->ListSamples()) {
      sample_ids.push_back(sample.id);
    }
  } else {
    sample_ids.push_back(arguments.sample_id);
  }
  ProgressBar progress;
  nlohmann::json all = nlohmann::json::array();
  for (const std::string& sample_id : sample_ids) {
    const ClassifyReport report =
        ClassifySample(*store,
                       *classifier,
                       sample_id,
                       {.top_k = arguments.top_k, .on_progress = [&](int64_t done, int64_t total) {
                          progress.Update(sample_id, done, total);
                        }});
    progress.Finish();
    all.push_back({{"sample_id", report.sample_id},
                   {"model_id", report.model_id},
                   {"particles", report.particles},
                   {"classified", report.classified},
                   {"uncertain", report.uncertain},
                   {"without_image", report.without_image},
                   {"counts", report.counts}});
    if (!arguments.json) {
      fmt::print(
          "classified {} with {}: {} particles, {} given a class, {} uncertain, {} without image\n",
          report.sample_id,
          report.model_id,
          report.particles,
          report.classified,
          report.uncertain,
          report.without_image);
      for (const auto& [label, count] : report.counts) {
        fmt::print("  {:>7}  {}\n", count, label);
      }
    }
  }
  if (arguments.json) {
    std::cout << (arguments.all ? all : all[0]).dump(2) << "\n";
  }
}

}  // namespace

void AddModelCommands(CLI::App& app) {
  auto arguments = std::make_shared<ModelArguments>();

#ifdef PHYTOFLOW_WITH_TORCH
  CLI::App* train = app.add_subcommand("train", "Train a classifier on labelled images");
  train
      ->add_option("--data",
                   arguments->data,
                   "Folder of class folders, a labels.csv, or store[:SOURCE[:CLASSIFICATION]] "
                   "(default source: expert)")
      ->required();
  train->add_option("--out", arguments->out, "Model file to write")->required();
  auto* validation =
      train->add_option("--val", arguments->validation, "Validation data (same forms as --data)");
  train
      ->add_option(
          "--val-fraction",
          arguments->validation_fraction,
          "Stratified share of --data kept for validation when --val is not given (default 0.2)")
      ->excludes(validation)
      ->check(CLI::Range(0.05, 0.5));
  train->add_option(
      "--name", arguments->train.name, "Model name (the model id adds a hash of the weights)");
  train->add_option(
      "--arch", arguments->train.architecture, "resnet or mobilenet, e.g. resnet:width=32,depth=1");
  train->add_option("--epochs",
                    arguments->train.epochs,
                    "Maximum epochs (early stopping on validation macro-F1)");
  train->add_option("--image-size", arguments->train.image_size, "Square input side in pixels");
  train->add_option("--channels", arguments->train.channels, "3 (colour) or 1 (gray)")
      ->check(CLI::IsMember({1, 3}));
  train->add_option("--taxa", arguments->taxa, "TSV of class<TAB>AphiaID stored with the model");
  train->add_option("--batch-size", arguments->train.batch_size, "Images per step");
  train->add_option("--lr", arguments->train.learning_rate, "Peak learning rate (AdamW)");
  train->add_option(
      "--patience", arguments->train.patience, "Epochs without improvement before stopping");
  train->add_option("--context", arguments->context, "Context input: none, size or all")
      ->check(CLI::IsMember({"none", "size", "all"}));
  train->add_option("--seed", arguments->train.seed, "Random seed");
  train->add_option("--target-precision",
                    arguments->train.target_precision,
                    "Precision the per-class thresholds aim for (default 0.95)");
  train->add_option("--resume", arguments->resume, "Continue from a checkpoint (MODEL.checkpoint)");
  train->add_option(
      "--pixel-size-um", arguments->pixel_size_um, "µm per pixel of the images, when known");
  AddRuntimeOptions(*train, *arguments);
  AddStoreOption(*train, arguments->store);
  train->add_flag("--json", arguments->json, "Print the result as JSON");
  train->callback([arguments] { Train(*arguments); });
#endif

  CLI::App* evaluate = app.add_subcommand("evaluate", "Score a model on labelled images");
  evaluate->add_option("--model", arguments->model, "Model file")->required();
  evaluate
      ->add_option(
          "--data", arguments->data, "Folder of class folders, a labels.csv, or store[:SOURCE...]")
      ->required();
  evaluate->add_option("--report",
                       arguments->report_dir,
                       "Write metrics.json, confusion.csv and confusion.svg here");
  evaluate->add_option(
      "--pixel-size-um", arguments->pixel_size_um, "µm per pixel of the images, when known");
  AddRuntimeOptions(*evaluate, *arguments);
  AddStoreOption(*evaluate, arguments->store);
  evaluate->add_flag("--json", arguments->json, "Print the metrics as JSON");
  evaluate->add_flag("--tta", arguments->tta, "Average over the 8 flips and 90-degree rotations");
  evaluate->callback([arguments] { EvaluateCommand(*arguments); });

  CLI::App* predict = app.add_subcommand("predict", "Classify image files");
  predict->add_option("--model", arguments->model, "Model file")->required();
  predict->add_option("FILE", arguments->files, "Images (PNG, JPEG, TIFF, BMP)")->required();
  predict->add_option("--top-k", arguments->top_k, "How many classes to list")
      ->check(CLI::Range(1, 100));
  predict->add_option(
      "--pixel-size-um", arguments->pixel_size_um, "µm per pixel of the images, when known");
  AddRuntimeOptions(*predict, *arguments);
  predict->add_flag("--json", arguments->json, "Print JSON");
  predict->add_flag("--tta", arguments->tta, "Average over the 8 flips and 90-degree rotations");
  predict->callback([arguments] { PredictCommand(*arguments); });

  CLI::App* classify = app.add_subcommand("classify",
                                          "Classify the particles of stored samples and keep the "
                                          "predictions (expert labels are never touched)");
  classify->add_option("SAMPLE", arguments->sample_id, "Sample id");
  classify->add_flag("--all", arguments->all, "Every sample in the store");
  classify->add_option(
      "--model", arguments->model, "Model file (default: $PHYTOFLOW_MODEL or the bundled default)");
  classify->add_option("--top-k", arguments->top_k, "Classes kept per particle")
      ->check(CLI::Range(1, 100));
  AddRuntimeOptions(*classify, *arguments);
  AddStoreOption(*classify, arguments->store);
  classify->add_flag("--json", arguments->json, "Print JSON");
  classify->add_flag("--tta", arguments->tta, "Average over the 8 flips and 90-degree rotations");
  classify->callback([arguments] { ClassifyCommand(*arguments); });
}

}  // namespace phytoflow
