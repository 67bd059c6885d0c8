#include "phytoflow/core/error.h"
#include "phytoflow/reader/classification_reader.h"
#include "phytoflow/reader/context_reader.h"
#include "phytoflow/reader/export_source.h"
#include "phytoflow/reader/list_reader.h"
#include "phytoflow/reader/outline_reader.h"
#include "phytoflow/reader/text.h"
#include "phytoflow/reader/volume.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <gtest/gtest.h>

namespace phytoflow {
namespace {

// A three-field list in the 017 format, with CRLF endings and the trailing empty line VS writes.
constexpr const char* kSmallList =
    "017\r\nnum-fields|8\r\nid|int32\r\nimage_x|int32\r\nimage_y|int32\r\nimage_w|int32\r\n"
    "image_h|int32\r\nesd_diameter|double\r\ncollage_file|string\r\nimage_id|guid\r\n"
    "1|0|0|10|12|8.5624|run 1_000001.tif|C60339F4-9D66-4CC9-9EE1-5966639FC33C\r\n"
    "2|10|0|5|6|9.25|run 1_000001.tif|40F7D6A8-2B13-4863-8A1F-F40F419463A3\r\n\r\n";

std::string ErrorOf(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), ErrorCode::kInvalidInput);
    return error.what();
  }
  ADD_FAILURE() << "no Error thrown";
  return "";
}

TEST(Text, ParsesNumbersWithoutLocaleAndRejectsJunk) {
  EXPECT_EQ(ParseDouble("0.5544"), 0.5544);
  EXPECT_EQ(ParseDouble(" -65.0000 "), -65.0);
  EXPECT_EQ(ParseDouble("9.25"), 9.25);
  EXPECT_FALSE(ParseDouble("1,5").has_value());
  EXPECT_FALSE(ParseDouble("").has_value());
  EXPECT_FALSE(ParseInt("1.5").has_value());
  EXPECT_EQ(ParseLeadingNumber("0.150 ml/min"), 0.15);
  EXPECT_EQ(ParseLeadingNumber("22.2%   "), 22.2);
  EXPECT_EQ(ParseLeadingNumber("10X"), 10.0);
  EXPECT_FALSE(ParseLeadingNumber("Unknown").has_value());
}

TEST(Text, LinesAreValidUtf8EvenFromWindows1252Files) {
  EXPECT_EQ(ToValidUtf8("5 \xb5m"), "5 \xc2\xb5m");            // Latin-1 µ
  EXPECT_EQ(ToValidUtf8("5 \xc2\xb5m"), "5 \xc2\xb5m");        // already UTF-8
  EXPECT_EQ(ToValidUtf8("\x80 5"), "\xe2\x82\xac 5");          // Windows-1252 euro sign
  EXPECT_EQ(ToValidUtf8("\xe2\x82"), "\xc3\xa2\xe2\x80\x9a");  // truncated sequence, as 1252
  std::istringstream in("Station: Gen\xe8ve\r\n");
  LineReader lines(in);
  std::string line;
  ASSERT_TRUE(lines.Next(line));
  EXPECT_EQ(line, "Station: Gen\xc3\xa8ve");
}

TEST(ListReader, RenamesRepeatedColumns) {
  std::istringstream in(
      "017\nnum-fields|8\nid|int32\nimage_x|int32\nimage_y|int32\nimage_w|int32\n"
      "image_h|int32\nesd_diameter|double\nesd_diameter|double\ncollage_file|string\n");
  ListReader list(in, "x.lst");
  EXPECT_EQ(list.Decoder().MeasurementNames(), (std::vector<std::string>{"esd_um", "esd_um_2"}));
}

TEST(Text, SplitsQuotedCsv) {
  EXPECT_EQ(SplitCsvLine("a,\"b,c\",\"d\"\"e\","),
            (std::vector<std::string>{"a", "b,c", "d\"e", ""}));
}

TEST(ListReader, ReadsByHeaderNameWithCrlf) {
  std::istringstream in(kSmallList);
  ListReader list(in, "run.lst");
  EXPECT_EQ(list.FormatVersion(), "017");
  EXPECT_EQ(list.Decoder().MeasurementNames(), (std::vector<std::string>{"esd_um"}));
  Particle particle;
  ASSERT_TRUE(list.Next(particle));
  EXPECT_EQ(particle.number, 1);
  EXPECT_EQ(particle.box, (PixelBox{0, 0, 10, 12}));
  EXPECT_EQ(particle.collage_file, "run 1_000001.tif");
  EXPECT_EQ(particle.guid, "C60339F4-9D66-4CC9-9EE1-5966639FC33C");
  EXPECT_DOUBLE_EQ(particle.esd_um, 8.5624);
  EXPECT_NEAR(particle.biovolume_esd_um3, 328.689, 1e-3);  // VS "Volume (ESD)" 3.286890e+02
  ASSERT_TRUE(list.Next(particle));
  EXPECT_EQ(particle.number, 2);
  EXPECT_DOUBLE_EQ(particle.esd_um, 9.25);
  EXPECT_FALSE(list.Next(particle));
}

TEST(ListReader, DerivesAbdFromAreaWhenOnlyAreaIsGiven) {
  std::istringstream in(
      "017\nnum-fields|7\nid|int32\nimage_x|int32\nimage_y|int32\nimage_w|int32\nimage_h|int32\n"
      "abd_area|double\ncollage_file|string\n1|0|0|1|1|444.7747|c.tif\n");
  ListReader list(in, "x.lst");
  Particle particle;
  ASSERT_TRUE(list.Next(particle));
  EXPECT_NEAR(particle.abd_um, 23.7972, 1e-4);  // quantities spec §4.3 test vector
  EXPECT_NEAR(particle.biovolume_abd_um3, 7056.25, 0.01);
  EXPECT_TRUE(particle.guid.empty());
}

TEST(ListReader, NamesFileLineAndFieldOfABadValue) {
  std::string text = kSmallList;
  text.replace(text.find("8.5624"), 6, "n/a");
  std::istringstream in(text);
  ListReader list(in, "run.lst");
  Particle particle;
  const std::string message = ErrorOf([&] { list.Next(particle); });
  EXPECT_NE(message.find("run.lst:11: field 'esd_diameter': expected a number, found 'n/a'"),
            std::string::npos)
      << message;
}

TEST(ListReader, ReportsTruncatedRows) {
  std::string text = kSmallList;
  text = text.substr(0, text.find("|run 1_000001.tif|40F7"));
  std::istringstream in(text);
  ListReader list(in, "run.lst");
  Particle particle;
  ASSERT_TRUE(list.Next(particle));
  const std::string message = ErrorOf([&] { list.Next(particle); });
  EXPECT_NE(message.find("run.lst:12: expected 8 values, found 6 (truncated row?)"),
            std::string::npos)
      << message;
}

TEST(ListReader, RejectsBrokenHeaders) {
  const auto header_error = [](const std::string& text) {
    return ErrorOf([&] {
      std::istringstream in(text);
      ListReader list(in, "h.lst");
    });
  };
  EXPECT_NE(header_error("").find("h.lst:1: empty file"), std::string::npos);
  EXPECT_NE(header_error("017\n").find("h.lst:2:"), std::string::npos);
  EXPECT_NE(header_error("017\nnum-fields|x\n").find("field count"), std::string::npos);
  EXPECT_NE(header_error("017\nnum-fields|3\nid|int32\n").find("ends inside the header"),
            std::string::npos);
  EXPECT_NE(header_error("017\nnum-fields|1\nid|float\n").find("h.lst:3: expected a 'name|type'"),
            std::string::npos);
  EXPECT_NE(header_error("017\nnum-fields|1\nid|int32\n").find("no 'image_x' field"),
            std::string::npos);
  // Pre-017 lists are colon separated without a num-fields line (flowcam-formats.md §3.10).
  EXPECT_NE(header_error("1\n2\n1:0.55:30\n").find("not supported"), std::string::npos);
}

TEST(CsvListReader, MapsTitlesToListNames) {
  EXPECT_EQ(ListNameForCsvTitle("Diameter (ESD)"), "esd_diameter");
  EXPECT_EQ(ListNameForCsvTitle("Original Reference ID"), "image_id");
  EXPECT_EQ(ListNameForCsvTitle("Fiber Curl"), "fiber_curl");
  EXPECT_EQ(ListNameForCsvTitle("Ratio Blue/Green"), "ratio_blue_green");
  std::istringstream in(
      "Particle ID,Camera,Date,Diameter (ESD),Image File,Image Height,Image Width,Image X,Image Y,"
      "Original Reference ID\r\n7,1,2025-04-11,8.5624,c_000001.tif,28,34,0,0,C603\r\n");
  CsvListReader csv(in, "run.csv");
  Particle particle;
  ASSERT_TRUE(csv.Next(particle));
  EXPECT_EQ(particle.number, 7);
  EXPECT_EQ(particle.box, (PixelBox{0, 0, 34, 28}));
  EXPECT_EQ(particle.guid, "C603");
  EXPECT_DOUBLE_EQ(particle.esd_um, 8.5624);
  EXPECT_EQ(csv.Decoder().MeasurementNames(), (std::vector<std::string>{"camera", "esd_um"}));
  EXPECT_EQ(particle.measurements[0], 0.0);  // 1-based camera in the CSV, 0-based in the list
}

TEST(Context, LooksUpKeysIgnoringCaseAndKeepsEverything) {
  std::istringstream in(
      "[Software]\r\nSoftwareVersion=4.19.3\r\nDSPFirmwareVersion=55\r\n[General]\r\n"
      "TimeZone= \r\nRunStartTime=2025-04-11 13:53:33\r\ngarbage line\r\n[Fluid]\r\n"
      "PumpFlowRate=0.1500\r\n");
  Diagnostics diagnostics;
  const KeyValueFile context = ReadContext(in, "run.ctx", diagnostics);
  EXPECT_EQ(context.Find("software", "dspfirmwareversion"), "55");
  EXPECT_EQ(context.Find("General", "TimeZone"), std::nullopt);  // blank values count as absent
  EXPECT_EQ(context.FindNumber("FLUID", "PumpFlowRate"), 0.15);
  EXPECT_EQ(context.Entries().size(), 5u);
  EXPECT_EQ(context.Entries()[2].value, "");
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].line, 7);
}

TEST(RunSummary, ReadsBlocksWithUnitsAndRepeats) {
  std::istringstream in(
      "Run:\n\tMode:  AutoImage\n\tFluid Volume Imaged: 0.1418 ml\n\tEfficiency: 22.2%   \n"
      "Images:\n\tParticles Per Image:  0.23\n\tParticles Per Image:  0.23\n"
      "Environment:\n\tSoftware: VisualSpreadsheet 4.19.3\n");
  Diagnostics diagnostics;
  const KeyValueFile summary = ReadRunSummary(in, "s.txt", diagnostics);
  EXPECT_EQ(summary.FindNumber("Run", "Fluid Volume Imaged"), 0.1418);
  EXPECT_EQ(summary.FindNumber("Run", "Efficiency"), 22.2);
  EXPECT_EQ(summary.Find("Environment", "Software"), "VisualSpreadsheet 4.19.3");
  EXPECT_EQ(summary.Entries().size(), 6u);
  EXPECT_TRUE(diagnostics.empty());
}

TEST(SummaryCsv, SeparatesKeyValuesStatsAndSettings) {
  std::istringstream in(
      "List File,run.lst\r\nStart Time,2025-04-11  15:53:33\r\n\r\nParticles / ml,7054\r\n"
      "Sample Volume Imaged ml,0.1418\r\nSummary Stats,Mean,Min,Max,StdDev,% CV\r\n"
      "Area (ABD),8.76,0.92,416.05,20.50,233.89\r\n"
      "Particle Segmentation,Dark Threshold 20.00\r\n");
  Diagnostics diagnostics;
  const KeyValueFile summary = ReadSummaryCsv(in, "s.csv", diagnostics);
  EXPECT_EQ(summary.FindNumber("", "Sample Volume Imaged ml"), 0.1418);
  EXPECT_EQ(summary.Find("Summary Stats", "Area (ABD)"), "8.76,0.92,416.05,20.50,233.89");
  EXPECT_EQ(summary.Find("Settings", "Particle Segmentation"), "Dark Threshold 20.00");
}

TEST(Classifications, RoundTripAndReportTruncation) {
  const std::vector<Classification> written = {
      {.name = "expert",
       .classes = {{.name = "Colonial Cyanobacteria", .filters = {}, .particle_numbers = {1, 3}},
                   {.name = "Junk", .filters = {"C:\\f\\junk.flt"}, .particle_numbers = {2}}}},
      {.name = "second", .classes = {{.name = "0", .filters = {}, .particle_numbers = {}}}}};
  std::ostringstream out;
  WriteClassifications(out, written);
  std::istringstream in(out.str());
  EXPECT_EQ(ReadClassifications(in, "r.cla"), written);

  const std::string text = out.str();
  std::istringstream truncated(text.substr(0, text.find("Junk")));
  const std::string message = ErrorOf([&] { ReadClassifications(truncated, "r.cla"); });
  EXPECT_NE(message.find("r.cla:"), std::string::npos);
  EXPECT_NE(message.find("file ends early: expected a class name"), std::string::npos) << message;
}

TEST(Outlines, ParsesChainsAndStreamsByParticle) {
  std::string problem;
  const auto parsed = ParseOutlineLine("1,16,554,276,6777771221543335", problem);
  ASSERT_TRUE(parsed.has_value()) << problem;
  EXPECT_EQ(parsed->first, 1);
  EXPECT_EQ(parsed->second.start_x, 554);
  EXPECT_FALSE(ParseOutlineLine("1,3,5,5,129", problem).has_value());  // 9 is no direction
  EXPECT_FALSE(ParseOutlineLine("1,4,5,5,123", problem).has_value());  // length disagrees
  std::istringstream in("1,2,0,0,15\r\n1,1,3,3,7\r\n3,2,9,9,37\r\nbad\r\n");
  OutlineReader reader(in, "r.edg");
  Diagnostics diagnostics;
  EXPECT_EQ(reader.Take(1, diagnostics).size(), 2u);
  EXPECT_TRUE(reader.Take(2, diagnostics).empty());
  EXPECT_EQ(reader.Take(3, diagnostics).size(), 1u);
  EXPECT_TRUE(reader.Take(4, diagnostics).empty());
  EXPECT_EQ(diagnostics.size(), 1u);
}

KeyValueFile Kv(std::vector<ContextEntry> entries) {
  return KeyValueFile(std::move(entries));
}

TEST(Volume, PrefersRunSummaryThenSummaryCsv) {
  const auto run_summary = Kv({{"Run", "Fluid Volume Imaged", "0.2510 ml"},
                               {"Run", "Sample Volume Processed", "0.9965 ml"}});
  const auto csv = Kv({{"", "Sample Volume Imaged ml", "0.1418"}});
  VolumeEstimate estimate = EstimateVolumeImaged({}, run_summary, csv, std::nullopt);
  EXPECT_EQ(estimate.imaged_ml, 0.2510);
  EXPECT_EQ(estimate.processed_ml, 0.9965);
  EXPECT_EQ(estimate.source, VolumeSource::kRunSummary);
  estimate = EstimateVolumeImaged({}, {}, csv, std::nullopt);
  EXPECT_EQ(estimate.imaged_ml, 0.1418);
  EXPECT_EQ(estimate.source, VolumeSource::kSummaryCsv);
}

TEST(Volume, DerivesFromContextAsTheSpecSays) {
  // vicko sample2 .ctx: (0.6432 − 0.0045) × 22.1932 % = 0.14175 ml (VS reports 0.1418).
  const auto context = Kv({{"CaptureStats", "SampleVolumeAspirated", "0.6432"},
                           {"CaptureStats", "CalibrationFluidVolume", "0.0045"},
                           {"CaptureStats", "Efficiency", "22.1932"}});
  VolumeEstimate estimate = EstimateVolumeImaged(context, {}, {}, std::nullopt);
  EXPECT_EQ(estimate.source, VolumeSource::kContextEfficiency);
  EXPECT_NEAR(*estimate.imaged_ml, 0.14175, 1e-5);
  EXPECT_NEAR(*estimate.processed_ml, 0.6387, 1e-9);

  // Geometry: 4342 frames × 1277×957 px × 0.5544² µm²/px² × 100 µm × 0.8676 ≈ 0.1415 ml.
  const auto geometry = Kv({{"CaptureStats", "RawImageTotal", "4342"},
                            {"CaptureRegion", "AcceptableLeft", "1"},
                            {"CaptureRegion", "AcceptableRight", "1278"},
                            {"CaptureRegion", "AcceptableTop", "1"},
                            {"CaptureRegion", "AcceptableBottom", "958"},
                            {"Fluid", "FlowCellDepth", "100"},
                            {"Fluid", "CalibrationConstant", "1.0000"},
                            {"CaptureStats", "VolumeCF", "0.8676"}});
  estimate = EstimateVolumeImaged(geometry, {}, {}, 0.5544);
  EXPECT_EQ(estimate.source, VolumeSource::kContextGeometry);
  EXPECT_NEAR(
      *estimate.imaged_ml, 4342 * 1277.0 * 957.0 * 0.5544 * 0.5544 * 100 * 0.8676 / 1e12, 1e-9);
  EXPECT_NEAR(*estimate.imaged_ml, 0.1418, 0.1418 * 0.005);

  EXPECT_FALSE(EstimateVolumeImaged({}, {}, {}, std::nullopt).imaged_ml.has_value());
}

TEST(Volume, DilutionOnlyWhenTheRunAsksForIt) {
  EXPECT_NEAR(DilutionFactor(Kv({{"Fluid", "UseDilutionCalculation", "1"},
                                 {"Fluid", "SampleDilution", "0.3333"}})),
              3.0003,
              1e-4);
  EXPECT_EQ(DilutionFactor(
                Kv({{"Fluid", "UseDilutionCalculation", "0"}, {"Fluid", "SampleDilution", "0.5"}})),
            1.0);
  EXPECT_EQ(DilutionFactor(
                Kv({{"Fluid", "UseDilutionCalculation", "1"}, {"Fluid", "SampleDilution", "1"}})),
            1.0);
  EXPECT_EQ(DilutionFactor(
                Kv({{"Fluid", "UseDilutionCalculation", "1"}, {"Fluid", "SampleDilution", "0"}})),
            1.0);
}

// ---------------------------------------------------------------------------------------------
// Zips: the limits against zip bombs and paths leaving the folder. The hostile archives are made
// by tests/data/zips/make_zips.py (README.md there says what each holds).

namespace fs = std::filesystem;

fs::path ZipFixture(const std::string& name) {
  return fs::path("tests/data/zips") / name;
}

// A fresh empty folder, removed with the object.
class TempFolder {
 public:
  TempFolder() {
    std::string pattern = (fs::temp_directory_path() / "phytoflow-reader-test-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempFolder() { fs::remove_all(path_); }
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;
  const fs::path& Path() const { return path_; }

 private:
  fs::path path_;
};

std::string FileText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// The message of the Error{kInvalidInput} that CheckZip throws for a fixture.
std::string CheckZipError(const std::string& name, const ZipLimits& limits = {}) {
  return ErrorOf([&] { CheckZip(ZipFixture(name), limits, name); });
}

TEST(CheckZip, SummarisesAGoodArchiveFromItsDirectory) {
  const ZipSummary summary = CheckZip(ZipFixture("good.zip"));
  EXPECT_EQ(summary.entries, 2);
  EXPECT_EQ(summary.unpacked_bytes, 18U);  // "alpha\n" 6 + "bravo bravo\n" 12
}

TEST(CheckZip, RefusesPathsLeavingTheFolder) {
  const std::string traversal = CheckZipError("traversal.zip");
  EXPECT_NE(traversal.find("traversal.zip: entry '../evil.txt'"), std::string::npos) << traversal;
  EXPECT_NE(traversal.find("outside the export folder"), std::string::npos) << traversal;
  const std::string absolute = CheckZipError("absolute.zip");
  EXPECT_NE(absolute.find("absolute.zip: entry '/tmp/evil.txt'"), std::string::npos) << absolute;
}

TEST(CheckZip, RefusesSymbolicLinksAndRepeatedNames) {
  const std::string link = CheckZipError("symlink.zip");
  EXPECT_NE(link.find("entry 'run/link': a symbolic link"), std::string::npos) << link;
  const std::string duplicate = CheckZipError("duplicate.zip");
  EXPECT_NE(duplicate.find("entry 'run/a.txt': the name is given twice"), std::string::npos)
      << duplicate;
}

TEST(CheckZip, RefusesATruncatedArchiveAndOneThatIsNoZip) {
  const std::string truncated = CheckZipError("truncated.zip");
  EXPECT_NE(truncated.find("truncated.zip: not a readable zip archive"), std::string::npos)
      << truncated;
  // The fixture script itself is text, not a zip.
  const std::string text = CheckZipError("make_zips.py");
  EXPECT_NE(text.find("make_zips.py: not a readable zip archive"), std::string::npos) << text;
}

TEST(CheckZip, RefusesAZipBombByItsRatio) {
  // 20 MiB of zeros deflated to 20,387 bytes: 20,971,520 / 20,387 = 1028.7-fold.
  const std::string bomb = CheckZipError("bomb.zip");
  EXPECT_NE(bomb.find("entry 'zeros.bin': expands 1028-fold (20387 to 20971520 bytes), more "
                      "than the limit of 1000"),
            std::string::npos)
      << bomb;
  // A looser ratio lets the same archive through.
  EXPECT_EQ(CheckZip(ZipFixture("bomb.zip"), {.max_ratio = 2000}).unpacked_bytes, 20971520U);
}

TEST(CheckZip, RefusesAHugeDeclaredSizeWithoutReadingIt) {
  // The central directory declares 20,000,000,000 bytes; the default limit is 16 GiB =
  // 17,179,869,184 bytes.
  const std::string huge = CheckZipError("huge_declared.zip");
  EXPECT_NE(huge.find("entry 'run/huge.bin': the archive unpacks to more than the limit of "
                      "17179869184 bytes (this entry alone declares 20000000000)"),
            std::string::npos)
      << huge;
}

TEST(CheckZip, AppliesTheEntryAndSizeLimitsGiven) {
  const std::string entries = CheckZipError("good.zip", {.max_entries = 1});
  EXPECT_NE(entries.find("good.zip: holds 2 entries, more than the limit of 1"), std::string::npos)
      << entries;
  // 6 bytes after run/a.txt fit in 10; run/b.txt brings the sum to 18.
  const std::string bytes = CheckZipError("good.zip", {.max_unpacked_bytes = 10});
  EXPECT_NE(bytes.find("entry 'run/b.txt': the archive unpacks to more than the limit of 10"),
            std::string::npos)
      << bytes;
}

TEST(CheckZip, RefusesNamesThatCannotBeUnpacked) {
  // ".": the export folder itself; before, it passed and unpacking failed with kUnavailable.
  const std::string dot = CheckZipError("dot.zip");
  EXPECT_NE(dot.find("dot.zip: entry '.': not the name of a file"), std::string::npos) << dot;
  // "run/" + 256 "p" + ".txt": a part of 260 bytes.
  const std::string part = CheckZipError("long_part.zip");
  EXPECT_NE(part.find("a file or folder name of 260 bytes, more than the limit of 255"),
            std::string::npos)
      << part;
}

TEST(CheckZip, RefusesLongAndDeepNames) {
  // 114 * "abcdefgh/" + "f.txt" = 1031 bytes; the message shows the name's first 200 bytes.
  const std::string long_name = CheckZipError("long_name_over.zip");
  EXPECT_NE(long_name.find("a name of 1031 bytes, more than the limit of 1024"), std::string::npos)
      << long_name;
  EXPECT_LT(long_name.size(), 400U) << long_name;
  // 1022 bytes, 114 parts deep: within the length, beyond the depth.
  EXPECT_NE(CheckZipError("long_name.zip").find("more than 32 folders deep"), std::string::npos);
  // 32 "d/" and "f.txt": 33 parts; 31 "d/" and "f.txt": 32 parts, accepted.
  EXPECT_NE(CheckZipError("deep.zip").find("more than 32 folders deep"), std::string::npos);
  EXPECT_EQ(CheckZip(ZipFixture("deepest.zip")).entries, 1);
  const TempFolder folder;
  UnpackZip(ZipFixture("deepest.zip"), folder.Path());
  std::string deepest;
  for (int level = 0; level < 31; ++level) {
    deepest += "d/";
  }
  EXPECT_EQ(FileText(folder.Path() / (deepest + "f.txt")), "x");
}

TEST(CheckZip, DeclaredSizesCannotOverflowTheirSum) {
  // Two entries declaring 2^63 bytes each: 2^63 + 2^63 = 2^64 wraps to 0 in 64 bits, which
  // would pass even the largest limit. The second is refused: 2^63 > (2^64 - 1) - 2^63.
  const std::string overflow = CheckZipError(
      "overflow.zip",
      {.max_unpacked_bytes = UINT64_MAX, .max_ratio = std::numeric_limits<double>::infinity()});
  EXPECT_NE(overflow.find("entry 'run/b.bin': the archive unpacks to more than the limit of "
                          "18446744073709551615 bytes"),
            std::string::npos)
      << overflow;
}

TEST(UnpackZip, WritesTheEntriesOfAGoodArchive) {
  const TempFolder folder;
  UnpackZip(ZipFixture("good.zip"), folder.Path());
  EXPECT_EQ(FileText(folder.Path() / "run/a.txt"), "alpha\n");
  EXPECT_EQ(FileText(folder.Path() / "run/b.txt"), "bravo bravo\n");
}

TEST(UnpackZip, StopsAtTheBytesAHeaderDeclares) {
  // lying.zip declares 1000 bytes for 65,536 bytes of text, so the directory passes the checks.
  EXPECT_EQ(CheckZip(ZipFixture("lying.zip")).unpacked_bytes, 1000U);
  const TempFolder folder;
  const std::string lying = ErrorOf([&] { UnpackZip(ZipFixture("lying.zip"), folder.Path()); });
  EXPECT_NE(lying.find("lying.zip: entry 'run/big.txt': unpacks to more than the 1000 bytes its "
                       "header declares"),
            std::string::npos)
      << lying;
  // At most one read buffer (64 KiB) was written before the check stopped it.
  EXPECT_LE(fs::file_size(folder.Path() / "run/big.txt"), 1000U);
}

TEST(UnpackZip, WritesNothingForARefusedArchive) {
  const TempFolder folder;
  ErrorOf([&] { UnpackZip(ZipFixture("traversal.zip"), folder.Path()); });
  ErrorOf([&] { UnpackZip(ZipFixture("symlink.zip"), folder.Path()); });
  EXPECT_TRUE(fs::is_empty(folder.Path()));
  EXPECT_FALSE(fs::exists(folder.Path().parent_path() / "evil.txt"));
}

// Messages name the input as the caller names it, never the folder it was unpacked in.
TEST(ExportSource, NamesTheInputByItsDisplayName) {
  const TempFolder folder;
  const std::string empty = ErrorOf([&] { ExportSource source(folder.Path(), "export.zip"); });
  EXPECT_EQ(empty.rfind("export.zip: no FlowCam particle list", 0), 0U) << empty;
  EXPECT_EQ(empty.find(folder.Path().string()), std::string::npos) << empty;
  const std::string dot = ErrorOf([] { ExportSource source(ZipFixture("dot.zip"), "up.zip"); });
  EXPECT_EQ(dot.rfind("up.zip: entry '.'", 0), 0U) << dot;
  EXPECT_EQ(dot.find("tests/data"), std::string::npos) << dot;
}

TEST(ExportSource, RefusesAHostileZip) {
  const std::string message = ErrorOf([] { ExportSource source(ZipFixture("traversal.zip")); });
  EXPECT_NE(message.find("entry '../evil.txt'"), std::string::npos) << message;
}

}  // namespace
}  // namespace phytoflow
