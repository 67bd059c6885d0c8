#include "phytoflow/products/indicator_plots.h"

#include <gtest/gtest.h>

namespace phytoflow {
namespace {

size_t Count(const std::string& text, const std::string& what) {
  size_t count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++count;
  }
  return count;
}

// A whole SVG document whose elements open and close in pairs.
void ExpectSvgDocument(const std::string& svg) {
  EXPECT_EQ(svg.rfind("<?xml version=\"1.0\"", 0), 0u);
  EXPECT_NE(svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
  EXPECT_EQ(Count(svg, "<text"), Count(svg, "</text>"));
  EXPECT_EQ(Count(svg, "<svg"), 1u);
  EXPECT_EQ(svg.find("nan"), std::string::npos);  // no NaN coordinates
  EXPECT_EQ(svg.find("inf"), std::string::npos);
}

Ph1Result OnePair() {
  Ph1Result result;
  Ph1PairResult pair{.pair = {"diatom", "dinoflagellate"}};
  for (int i = 0; i < 6; ++i) {
    pair.reference.push_back({.year = 2015, .month = i + 1, .samples = 1, .x = 1.0 + i, .y = 2});
  }
  pair.comparison = {{.year = 2021, .month = 1, .samples = 1, .x = 2, .y = 2.5},
                     {.year = 2021, .month = 7, .samples = 1, .x = 3, .y = 1.5}};
  pair.envelope = Envelope{.outer = {{1, 1}, {6, 1}, {6, 3}, {1, 3}},
                           .inner = {{2, 1.8}, {5, 1.8}, {5, 2.2}, {2, 2.2}},
                           .reference_points = 6,
                           .kept_points = 6};
  pair.index = {.points = 2, .inside = 1, .pi = 0.5, .binomial_probability = 0.19};
  result.pairs.push_back(pair);
  result.pairs.push_back(
      {.pair = {"lg_phyto", "sm_phyto"}, .warnings = {"lifeform lg_phyto is zero <everywhere>"}});
  return result;
}

TEST(Ph1EnvelopeSvg, DrawsEnvelopesPointsAndCaption) {
  const std::string svg = Ph1EnvelopeSvg(OnePair(), "PH1 & station <W08>");
  ExpectSvgDocument(svg);
  EXPECT_NE(svg.find("<title>PH1 &amp; station &lt;W08&gt;</title>"), std::string::npos);
  EXPECT_EQ(Count(svg, "<polygon"), 2u);  // outer and inner envelope of the first pair
  // 6 reference rings + 1 legend ring; 2 comparison dots + 4 legend dots.
  EXPECT_EQ(Count(svg, "fill=\"none\" stroke=\"#999\""), 7u);
  EXPECT_EQ(Count(svg, "<title>2021-"), 2u);
  EXPECT_NE(svg.find("fill=\"blue\""), std::string::npos);    // January: winter
  EXPECT_NE(svg.find("fill=\"yellow\""), std::string::npos);  // July: summer
  EXPECT_NE(svg.find("PI: 0.5"), std::string::npos);
  EXPECT_NE(svg.find("lifeform lg_phyto is zero &lt;everywhere&gt;"), std::string::npos);
  EXPECT_NE(svg.find("width=\"920\""), std::string::npos);  // two panels of 460
}

TEST(Ph2AnomalySvg, DrawsBandsThresholdsAndMonths) {
  Ph2Result result{.name = "phytoplankton"};
  for (int i = 0; i < 24; ++i) {
    result.months.push_back(
        {.year = 2020 + i / 12,
         .month = i % 12 + 1,
         .samples = 1,
         .comparison = i >= 12,
         .anomaly = (i % 5) - 2.0,
         .change = i % 5 == 4 ? AnomalyClass::kExtremePositive : AnomalyClass::kSmall});
  }
  result.thresholds = {.q2_5 = -1.9, .q25 = -1, .q75 = 1, .q97_5 = 1.9, .min = -2, .max = 2};
  const std::string svg = Ph2AnomalySvg(result, "PH2");
  ExpectSvgDocument(svg);
  EXPECT_EQ(Count(svg, "<path d=\"M"), 24u);                      // one cross a month
  EXPECT_EQ(Count(svg, "stroke=\"blue\" stroke-dasharray"), 4u);  // four thresholds
  EXPECT_NE(svg.find("#6495ED"), std::string::npos);
  EXPECT_NE(svg.find(">comparison<"), std::string::npos);
  EXPECT_NE(svg.find("extreme+"), std::string::npos);
}

TEST(Ph3IndexSvg, DrawsFourIndexPanels) {
  Ph3Result result;
  for (int i = 0; i < 3; ++i) {
    Ph3Month month{.year = 2020 + i, .month = 6, .samples = 1};
    month.indices = {.richness = 3,
                     .abundance = 30,
                     .menhinick = 0.5 + i,
                     .hulburt = 80,
                     .shannon = 1,
                     .pielou = 0.9};
    result.months.push_back(month);
    result.years.push_back({.year = 2020 + i, .months = 1, .menhinick = 0.5 + i});
  }
  result.months[1].indices.pielou = kIndicatorNaN;  // skipped, not drawn as NaN
  const std::string svg = Ph3IndexSvg(result, "PH3");
  ExpectSvgDocument(svg);
  for (const char* name : {">Menhinick<", ">Hulburt<", ">Shannon<", ">Pielou<"}) {
    EXPECT_NE(svg.find(name), std::string::npos) << name;
  }
  EXPECT_EQ(Count(svg, "<circle"), 11u);  // 3 months × 4 indices, one Pielou missing
}

}  // namespace
}  // namespace phytoflow
