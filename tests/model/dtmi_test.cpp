#include "model/dtmi.h"

#include <gtest/gtest.h>

#include <string>

namespace doppel::model {
namespace {

constexpr auto v2 = dtdl_version::v2;
constexpr auto v3 = dtdl_version::v3;

bool valid(std::string_view s, dtdl_version v) { return dtmi_problem(s, v).empty(); }

TEST(Dtmi, AcceptsVersionedDtmisInBothVersions) {
  for (auto v : {v2, v3}) {
    EXPECT_TRUE(valid("dtmi:com:example:Pump;1", v));
    EXPECT_TRUE(valid("dtmi:a;1", v));
    EXPECT_TRUE(valid("dtmi:Com:Example_1:pump2;123456789", v));
    EXPECT_TRUE(valid("dtmi:x:a1b;42", v));
  }
}

TEST(Dtmi, VersionIsRequiredInV2Only) {
  EXPECT_FALSE(valid("dtmi:com:example:Pump", v2));
  EXPECT_NE(dtmi_problem("dtmi:com:example:Pump", v2).find("version"), std::string::npos);
  EXPECT_TRUE(valid("dtmi:com:example:Pump", v3));
}

TEST(Dtmi, MinorVersionsOnlyInV3) {
  EXPECT_TRUE(valid("dtmi:com:example:Pump;1.1", v3));
  EXPECT_TRUE(valid("dtmi:com:example:Pump;123456789.999999", v3));
  EXPECT_FALSE(valid("dtmi:com:example:Pump;1.1", v2));
  EXPECT_NE(dtmi_problem("dtmi:com:example:Pump;1.1", v2).find("minor"), std::string::npos);
  EXPECT_FALSE(valid("dtmi:com:example:Pump;1.0", v3));        // minor may not be 0
  EXPECT_FALSE(valid("dtmi:com:example:Pump;1.01", v3));       // no leading zero
  EXPECT_FALSE(valid("dtmi:com:example:Pump;1.1234567", v3));  // minor has at most 6 digits
  EXPECT_FALSE(valid("dtmi:com:example:Pump;1.", v3));
  EXPECT_FALSE(valid("dtmi:com:example:Pump;.1", v3));
  EXPECT_FALSE(valid("dtmi:com:example:Pump;1.1.1", v3));
}

TEST(Dtmi, VersionNumberRules) {
  for (auto v : {v2, v3}) {
    EXPECT_FALSE(valid("dtmi:com:example:Pump;0", v));
    EXPECT_FALSE(valid("dtmi:com:example:Pump;01", v));
    EXPECT_FALSE(valid("dtmi:com:example:Pump;1234567890", v));  // at most 9 digits
    EXPECT_FALSE(valid("dtmi:com:example:Pump;", v));
    EXPECT_FALSE(valid("dtmi:com:example:Pump;1a", v));
    EXPECT_FALSE(valid("dtmi:com:example:Pump;-1", v));
    EXPECT_FALSE(valid("dtmi:com:example:Pump;1;2", v));
    EXPECT_NE(dtmi_problem("dtmi:com:example:Pump;01", v).find("leading zeros"), std::string::npos);
  }
}

TEST(Dtmi, SchemeMustBeLowercaseDtmi) {
  for (auto v : {v2, v3}) {
    EXPECT_FALSE(valid("DTMI:com:example:Pump;1", v));
    EXPECT_FALSE(valid("dtmx:com:example:Pump;1", v));
    EXPECT_FALSE(valid("com:example:Pump;1", v));
    EXPECT_FALSE(valid("", v));
    EXPECT_FALSE(valid("dtmi:", v));
    EXPECT_FALSE(valid("dtmi:;1", v));
    EXPECT_NE(dtmi_problem("urn:x;1", v).find("dtmi:"), std::string::npos);
  }
}

TEST(Dtmi, SegmentRules) {
  for (auto v : {v2, v3}) {
    EXPECT_FALSE(valid("dtmi:com::Pump;1", v));          // empty segment
    EXPECT_FALSE(valid("dtmi:com:example:;1", v));       // trailing ':'
    EXPECT_FALSE(valid("dtmi::com:Pump;1", v));          // leading ':'
    EXPECT_FALSE(valid("dtmi:com:1example:Pump;1", v));  // starts with a digit
    EXPECT_FALSE(valid("dtmi:com:_example:Pump;1", v));  // system segment
    EXPECT_FALSE(valid("dtmi:com:example_:Pump;1", v));  // ends with '_'
    EXPECT_FALSE(valid("dtmi:com:exa-mple:Pump;1", v));
    EXPECT_FALSE(valid("dtmi:com:exa.mple:Pump;1", v));
    EXPECT_FALSE(valid("dtmi:com:exämple:Pump;1", v));
    EXPECT_FALSE(valid("dtmi:com:ex ample:Pump;1", v));
    EXPECT_TRUE(valid("dtmi:com:ex_am_ple:Pump;1", v));
    EXPECT_TRUE(valid("dtmi:com:e__x:Pump;1", v));
  }
  EXPECT_NE(dtmi_problem("dtmi:com:_x;1", v3).find("system"), std::string::npos);
  EXPECT_NE(dtmi_problem("dtmi:com:x_;1", v3).find("'_'"), std::string::npos);
  EXPECT_NE(dtmi_problem("dtmi:com::x;1", v3).find("empty"), std::string::npos);
  EXPECT_NE(dtmi_problem("dtmi:com:9x;1", v3).find("letter"), std::string::npos);
}

TEST(Dtmi, IsCaseSensitiveButAcceptsBothCases) {
  EXPECT_TRUE(valid("dtmi:COM:Example:PUMP;1", v2));
  EXPECT_TRUE(valid("dtmi:com:example:pump;1", v2));
}

TEST(Dtmi, LengthLimitsAreExposed) {
  EXPECT_EQ(k_max_interface_dtmi_length, 128u);
  EXPECT_EQ(k_max_dtmi_length, 2048u);
}

TEST(Dtmi, LooksLikeDtmi) {
  EXPECT_TRUE(looks_like_dtmi("dtmi:x"));
  EXPECT_TRUE(looks_like_dtmi("dtmi:"));
  EXPECT_FALSE(looks_like_dtmi("dtmi"));
  EXPECT_FALSE(looks_like_dtmi("DTMI:x;1"));
  EXPECT_FALSE(looks_like_dtmi(""));
}

TEST(DtmiName, ValidNames) {
  EXPECT_TRUE(is_valid_name("a"));
  EXPECT_TRUE(is_valid_name("Z"));
  EXPECT_TRUE(is_valid_name("temperature"));
  EXPECT_TRUE(is_valid_name("target_Temperature2"));
  EXPECT_TRUE(is_valid_name("a__b"));
  EXPECT_TRUE(is_valid_name(std::string(512, 'a')));  // the length limit is the validator's, per version
}

TEST(DtmiName, InvalidNames) {
  EXPECT_FALSE(is_valid_name(""));
  EXPECT_FALSE(is_valid_name("_a"));
  EXPECT_FALSE(is_valid_name("a_"));
  EXPECT_FALSE(is_valid_name("1a"));
  EXPECT_FALSE(is_valid_name("a-b"));
  EXPECT_FALSE(is_valid_name("a b"));
  EXPECT_FALSE(is_valid_name("a.b"));
  EXPECT_FALSE(is_valid_name("a:b"));
  EXPECT_FALSE(is_valid_name("ä"));
  EXPECT_FALSE(is_valid_name("_"));
}

}  // namespace
}  // namespace doppel::model
