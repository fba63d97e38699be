//===- SafetensorsTest.cpp - dtype, slice and safetensors tests -----------===//
//
// Every test writes its own small files under a fresh temporary directory;
// nothing is downloaded.
//
//===----------------------------------------------------------------------===//
#include "runtime/weights/Safetensors.h"
#include "runtime/weights/DType.h"
#include "runtime/weights/Slice.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

using namespace llmc::rt;
namespace fs = std::filesystem;

namespace {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

float fromBits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

template <class T> std::vector<uint8_t> toBytes(const std::vector<T> &v) {
  std::vector<uint8_t> bytes(v.size() * sizeof(T));
  if (!v.empty())
    std::memcpy(bytes.data(), v.data(), bytes.size());
  return bytes;
}

/// `n` deterministic, distinct-ish floats.
std::vector<float> ramp(size_t n, float scale = 0.25f) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = (float(i) - float(n) / 2) * scale;
  return v;
}

TensorData tensorOf(const std::string &name, DType dtype,
                    std::vector<int64_t> shape, const std::vector<float> &v) {
  TensorData t{name, dtype, std::move(shape), {}};
  switch (dtype) {
  case DType::F32:
    t.bytes = toBytes(v);
    break;
  case DType::F64:
    t.bytes = toBytes(std::vector<double>(v.begin(), v.end()));
    break;
  case DType::BF16: {
    std::vector<uint16_t> h;
    for (float f : v)
      h.push_back(floatToBf16(f));
    t.bytes = toBytes(h);
    break;
  }
  case DType::F16: {
    std::vector<uint16_t> h;
    for (float f : v)
      h.push_back(floatToF16(f));
    t.bytes = toBytes(h);
    break;
  }
  default:
    ADD_FAILURE() << "tensorOf: unsupported dtype";
  }
  return t;
}

/// A fresh directory per test, removed afterwards.
class TempDirTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "llmc-st-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    ASSERT_NE(::mkdtemp(buf.data()), nullptr);
    dir_ = buf.data();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path(const std::string &name) const {
    return (fs::path(dir_) / name).string();
  }
  /// Writes the 8-byte length (`length`, or the header's size), the header
  /// and `dataBytes` bytes 0, 1, 2, ...
  std::string writeRaw(const std::string &name, const std::string &header,
                       size_t dataBytes,
                       std::optional<uint64_t> length = std::nullopt) const {
    std::string p = path(name);
    std::ofstream out(p, std::ios::binary);
    uint64_t n = length ? *length : header.size();
    for (int i = 0; i < 8; ++i)
      out.put(char(n >> (8 * i)));
    out << header;
    for (size_t i = 0; i < dataBytes; ++i)
      out.put(char(i));
    return p;
  }
  std::string writeBytes(const std::string &name, const std::string &bytes) {
    std::string p = path(name);
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }

  std::string dir_;
};

#define ASSERT_OK(expr)                                                        \
  do {                                                                         \
    ::llmc::rt::Status _s = (expr);                                            \
    ASSERT_TRUE(_s.isOk()) << _s.message();                                    \
  } while (0)

/// Asserts `s` failed with a message containing every one of `parts`.
void expectError(const Status &s, const std::vector<std::string> &parts) {
  ASSERT_FALSE(s.isOk()) << "expected an error containing '"
                         << (parts.empty() ? "" : parts[0]) << "'";
  for (const std::string &part : parts)
    EXPECT_NE(s.message().find(part), std::string::npos)
        << "message: " << s.message() << "\nmissing: " << part;
}

//===----------------------------------------------------------------------===//
// DType
//===----------------------------------------------------------------------===//

TEST(DTypeTest, NamesRoundTripAndSizes) {
  const std::pair<DType, size_t> all[] = {
      {DType::F64, 8},  {DType::F32, 4},     {DType::F16, 2},
      {DType::BF16, 2}, {DType::F8_E4M3, 1}, {DType::F8_E5M2, 1},
      {DType::I64, 8},  {DType::I32, 4},     {DType::I16, 2},
      {DType::I8, 1},   {DType::U8, 1},      {DType::BOOL, 1}};
  for (auto [dtype, size] : all) {
    std::optional<DType> parsed = parseDType(dtypeName(dtype));
    ASSERT_TRUE(parsed.has_value()) << dtypeName(dtype);
    EXPECT_EQ(*parsed, dtype);
    EXPECT_EQ(dtypeSize(dtype), size) << dtypeName(dtype);
  }
  EXPECT_STREQ(dtypeName(DType::F8_E4M3), "F8_E4M3");
  EXPECT_FALSE(parseDType("f32").has_value());
  EXPECT_FALSE(parseDType("F8").has_value());
  EXPECT_FALSE(parseDType("").has_value());
  EXPECT_FALSE(parseDType("U16").has_value());
}

TEST(DTypeTest, Bf16ExactAndRoundToNearestEven) {
  EXPECT_EQ(floatToBf16(1.0f), 0x3F80);
  EXPECT_EQ(floatToBf16(-2.0f), 0xC000);
  EXPECT_EQ(bf16ToFloat(0x3F80), 1.0f);
  // Exactly halfway: ties go to the even neighbour.
  EXPECT_EQ(floatToBf16(fromBits(0x3F808000)), 0x3F80);
  EXPECT_EQ(floatToBf16(fromBits(0x3F818000)), 0x3F82);
  // Just past halfway rounds up; just below rounds down.
  EXPECT_EQ(floatToBf16(fromBits(0x3F808001)), 0x3F81);
  EXPECT_EQ(floatToBf16(fromBits(0x3F807FFF)), 0x3F80);
  // Negative ties behave symmetrically.
  EXPECT_EQ(floatToBf16(fromBits(0xBF808000)), 0xBF80);
  EXPECT_EQ(floatToBf16(fromBits(0xBF818000)), 0xBF82);
}

TEST(DTypeTest, Bf16InfNanDenormals) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(floatToBf16(inf), 0x7F80);
  EXPECT_EQ(floatToBf16(-inf), 0xFF80);
  EXPECT_TRUE(std::isinf(bf16ToFloat(0x7F80)));
  // The largest float rounds past the largest bf16 to infinity.
  EXPECT_EQ(floatToBf16(std::numeric_limits<float>::max()), 0x7F80);
  EXPECT_EQ(floatToBf16(fromBits(0x7F7F0000)), 0x7F7F);
  // NaN stays NaN, even one whose payload is only in the low bits, and
  // keeps its sign.
  EXPECT_TRUE(std::isnan(bf16ToFloat(floatToBf16(std::nanf("")))));
  uint16_t lowPayload = floatToBf16(fromBits(0x7F800001));
  EXPECT_TRUE(std::isnan(bf16ToFloat(lowPayload))) << std::hex << lowPayload;
  EXPECT_EQ(floatToBf16(fromBits(0xFFC00000)) & 0x8000, 0x8000);
  // Denormals convert exactly both ways.
  EXPECT_EQ(floatToBf16(fromBits(0x00010000)), 0x0001);
  EXPECT_EQ(bf16ToFloat(0x0001), std::ldexp(1.0f, -133));
  EXPECT_EQ(floatToBf16(fromBits(0x00008000)), 0x0000); // Tie to even 0.
  EXPECT_EQ(floatToBf16(fromBits(0x00018000)), 0x0002); // Tie to even 2.
  EXPECT_EQ(floatToBf16(-0.0f), 0x8000);
}

TEST(DTypeTest, Bf16RoundTripsEveryValue) {
  for (uint32_t h = 0; h <= 0xFFFF; ++h) {
    float f = bf16ToFloat(uint16_t(h));
    if (std::isnan(f))
      EXPECT_TRUE(std::isnan(bf16ToFloat(floatToBf16(f))));
    else
      EXPECT_EQ(floatToBf16(f), h) << std::hex << h;
  }
}

TEST(DTypeTest, F16ExactAndRounding) {
  EXPECT_EQ(floatToF16(1.0f), 0x3C00);
  EXPECT_EQ(floatToF16(-2.0f), 0xC000);
  EXPECT_EQ(floatToF16(65504.0f), 0x7BFF);
  EXPECT_EQ(f16ToFloat(0x7BFF), 65504.0f);
  EXPECT_EQ(f16ToFloat(0x3555), 0.333251953125f);
  // Ties to even in the normal range (f16 ulp at 1 is 2^-10).
  EXPECT_EQ(floatToF16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);
  EXPECT_EQ(floatToF16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);
  EXPECT_EQ(floatToF16(1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20)),
            0x3C01);
  // Rounding carries into the exponent.
  EXPECT_EQ(floatToF16(2.0f - std::ldexp(1.0f, -12)), 0x4000);
}

TEST(DTypeTest, F16InfNanOverflow) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(floatToF16(inf), 0x7C00);
  EXPECT_EQ(floatToF16(-inf), 0xFC00);
  EXPECT_TRUE(std::isinf(f16ToFloat(0x7C00)));
  EXPECT_EQ(floatToF16(65519.99f), 0x7BFF);
  EXPECT_EQ(floatToF16(65520.0f), 0x7C00); // Halfway, ties to even = inf.
  EXPECT_EQ(floatToF16(1e10f), 0x7C00);
  EXPECT_EQ(floatToF16(-1e10f), 0xFC00);
  EXPECT_TRUE(std::isnan(f16ToFloat(floatToF16(std::nanf("")))));
  EXPECT_TRUE(std::isnan(f16ToFloat(floatToF16(fromBits(0x7F800001)))));
  EXPECT_TRUE(std::isnan(f16ToFloat(0x7C01)));
  EXPECT_EQ(floatToF16(fromBits(0xFFC00000)) & 0x8000, 0x8000);
}

TEST(DTypeTest, F16Denormals) {
  const float tiny = std::ldexp(1.0f, -24); // Smallest f16 denormal.
  EXPECT_EQ(floatToF16(tiny), 0x0001);
  EXPECT_EQ(f16ToFloat(0x0001), tiny);
  EXPECT_EQ(f16ToFloat(0x8001), -tiny);
  EXPECT_EQ(f16ToFloat(0x03FF), 1023 * tiny);
  EXPECT_EQ(floatToF16(std::ldexp(1.0f, -14)), 0x0400); // Smallest normal.
  EXPECT_EQ(floatToF16(tiny / 2), 0x0000);              // Tie to even 0.
  EXPECT_EQ(floatToF16(std::nextafter(tiny / 2, 1.0f)), 0x0001);
  EXPECT_EQ(floatToF16(3 * tiny / 2), 0x0002);   // Tie to even 2.
  EXPECT_EQ(floatToF16(5 * tiny / 2), 0x0002);   // Tie to even 2.
  EXPECT_EQ(floatToF16(1023.5f * tiny), 0x0400); // Up into normals.
  EXPECT_EQ(floatToF16(-tiny), 0x8001);
  EXPECT_EQ(floatToF16(-0.0f), 0x8000);
  EXPECT_EQ(floatToF16(std::ldexp(1.0f, -30)), 0x0000);
  EXPECT_EQ(floatToF16(std::numeric_limits<float>::denorm_min()), 0x0000);
}

TEST(DTypeTest, F16RoundTripsEveryValue) {
  for (uint32_t h = 0; h <= 0xFFFF; ++h) {
    float f = f16ToFloat(uint16_t(h));
    if (std::isnan(f))
      EXPECT_TRUE(std::isnan(f16ToFloat(floatToF16(f))));
    else
      EXPECT_EQ(floatToF16(f), h) << std::hex << h;
  }
}

#ifdef __FLT16_MAX__
// The compiler's own _Float16 conversion is IEEE round-to-nearest-even, so it
// is an independent oracle for a broad sweep of float bit patterns.
TEST(DTypeTest, F16MatchesCompilerFloat16) {
  for (uint64_t i = 0; i <= 0xFFFFFFFFull; i += 4093) {
    float f = fromBits(uint32_t(i));
    if (std::isnan(f))
      continue;
    _Float16 h = static_cast<_Float16>(f);
    uint16_t expected;
    std::memcpy(&expected, &h, 2);
    ASSERT_EQ(floatToF16(f), expected) << std::hex << "float bits " << i;
  }
}
#endif

TEST(DTypeTest, ConvertToF32) {
  float out[3];
  const double f64[] = {1.5, -2.25, 1e300};
  ASSERT_TRUE(convertToF32(DType::F64, f64, out, 3));
  EXPECT_EQ(out[0], 1.5f);
  EXPECT_EQ(out[1], -2.25f);
  EXPECT_TRUE(std::isinf(out[2]));
  const uint16_t bf16[] = {0x3F80, 0xC000, 0x7F80};
  ASSERT_TRUE(convertToF32(DType::BF16, bf16, out, 3));
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], -2.0f);
  EXPECT_TRUE(std::isinf(out[2]));
  const uint16_t f16[] = {0x3C00, 0xC000, 0x0001};
  ASSERT_TRUE(convertToF32(DType::F16, f16, out, 3));
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], -2.0f);
  EXPECT_EQ(out[2], std::ldexp(1.0f, -24));
  // Unaligned input is fine.
  unsigned char raw[1 + 3 * sizeof(float)];
  const float f32[] = {0.5f, 7.0f, -1.0f};
  std::memcpy(raw + 1, f32, sizeof(f32));
  ASSERT_TRUE(convertToF32(DType::F32, raw + 1, out, 3));
  EXPECT_EQ(out[1], 7.0f);

  out[0] = 42.0f;
  const int32_t i32[] = {1};
  EXPECT_FALSE(convertToF32(DType::I32, i32, out, 1));
  EXPECT_FALSE(convertToF32(DType::F8_E4M3, i32, out, 1));
  EXPECT_EQ(out[0], 42.0f);
  EXPECT_TRUE(isConvertibleToF32(DType::BF16));
  EXPECT_FALSE(isConvertibleToF32(DType::BOOL));
}

//===----------------------------------------------------------------------===//
// Slice
//===----------------------------------------------------------------------===//

TEST(SliceTest, CheckSlice) {
  std::vector<int64_t> shape = {4, 6};
  EXPECT_TRUE(checkSlice(shape, {0, 0, 4}).isOk());
  EXPECT_TRUE(checkSlice(shape, {1, 2, 4}).isOk());
  EXPECT_TRUE(checkSlice(shape, {1, 6, 0}).isOk());
  expectError(checkSlice(shape, {2, 0, 1}), {"dim must be in [0, 2)"});
  expectError(checkSlice(shape, {-1, 0, 1}), {"dim"});
  expectError(checkSlice(shape, {0, -1, 1}), {"non-negative"});
  expectError(checkSlice(shape, {0, 0, -1}), {"non-negative"});
  expectError(checkSlice(shape, {1, 3, 4}), {"offset + size must be <= 6"});
  expectError(checkSlice(shape, {1, 7, 0}), {"<= 6"});
  expectError(checkSlice(shape, {1, 1, std::numeric_limits<int64_t>::max()}),
              {"<= 6"});
  expectError(checkSlice({}, {0, 0, 0}), {"dim must be in [0, 0)"});
  expectError(checkSlice({3, -1}, {0, 0, 1}), {"non-negative"});
}

TEST(SliceTest, RunsAndCopy) {
  std::vector<int64_t> shape = {2, 3, 4};
  std::vector<float> full = ramp(24, 1.0f);
  SliceRuns whole = sliceRuns(shape, nullptr);
  EXPECT_EQ(whole.count, 1);
  EXPECT_EQ(whole.length, 24);

  Slice s{1, 1, 2};
  SliceRuns runs = sliceRuns(shape, &s);
  EXPECT_EQ(runs.count, 2);
  EXPECT_EQ(runs.length, 8);
  EXPECT_EQ(runs.start, 4);
  EXPECT_EQ(runs.stride, 12);
  EXPECT_EQ(slicedShape(shape, s), (std::vector<int64_t>{2, 2, 4}));

  std::vector<float> out(16);
  copySlice(full.data(), shape, s, out.data());
  for (int a = 0; a < 2; ++a)
    for (int b = 0; b < 2; ++b)
      for (int c = 0; c < 4; ++c)
        EXPECT_EQ(out[(a * 2 + b) * 4 + c], full[(a * 3 + b + 1) * 4 + c]);

  Slice last{2, 3, 1};
  std::vector<float> col(6);
  copySlice(full.data(), shape, last, col.data());
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(col[i], full[i * 4 + 3]);
}

//===----------------------------------------------------------------------===//
// Safetensors round trip
//===----------------------------------------------------------------------===//

using SafetensorsTest = TempDirTest;

TEST_F(SafetensorsTest, RoundTripManyDtypesAndShapes) {
  std::vector<TensorData> tensors = {
      tensorOf("model.w32", DType::F32, {2, 3}, ramp(6)),
      tensorOf("bf", DType::BF16, {4}, ramp(4)),
      tensorOf("half", DType::F16, {2, 2, 2}, ramp(8)),
      tensorOf("dbl", DType::F64, {1}, {3.0f}),
      {"scalar", DType::I64, {}, toBytes(std::vector<int64_t>{-7})},
      {"empty", DType::U8, {0, 5}, {}},
      {"flags", DType::BOOL, {3}, {1, 0, 1}},
      {"i8", DType::I8, {2}, {0xFF, 0x01}},
      {"i16", DType::I16, {1}, toBytes(std::vector<int16_t>{-300})},
      {"i32", DType::I32, {2}, toBytes(std::vector<int32_t>{5, -5})},
      {"fp8", DType::F8_E4M3, {3}, {0x38, 0x40, 0xB8}},
      {"fp8b", DType::F8_E5M2, {1}, {0x3C}},
      {"unicode.\xC3\xA9", DType::U8, {1}, {9}},
  };
  std::map<std::string, std::string> metadata = {
      {"format", "pt"}, {"note", "a \"quoted\" value"}};
  std::string p = path("model.safetensors");
  ASSERT_OK(writeSafetensors(p, tensors, metadata));

  // Data section starts 8-byte aligned, as the reference writer does it.
  std::ifstream in(p, std::ios::binary);
  unsigned char len[8];
  in.read(reinterpret_cast<char *>(len), 8);
  EXPECT_EQ(len[0] % 8, 0);

  auto file = SafetensorsFile::open(p);
  ASSERT_TRUE(file.ok()) << file.status().message();
  const SafetensorsFile &f = **file;
  EXPECT_EQ(f.path(), p);
  EXPECT_EQ(f.metadata(), metadata);
  ASSERT_EQ(f.tensors().size(), tensors.size());
  uint64_t totalBytes = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorInfo &info = f.tensors()[i];
    SCOPED_TRACE(tensors[i].name);
    EXPECT_EQ(info.name, tensors[i].name); // Header order is kept.
    EXPECT_EQ(info.dtype, tensors[i].dtype);
    EXPECT_EQ(info.shape, tensors[i].shape);
    EXPECT_EQ(info.numBytes(), tensors[i].bytes.size());
    EXPECT_EQ(f.find(info.name), &info);
    std::vector<uint8_t> back(f.data(info), f.data(info) + info.numBytes());
    EXPECT_EQ(back, tensors[i].bytes);
    totalBytes += info.numBytes();
  }
  EXPECT_EQ(f.dataSize(), totalBytes);
  EXPECT_EQ(f.find("scalar")->numElements(), 1);
  EXPECT_EQ(f.find("empty")->numElements(), 0);
  EXPECT_EQ(f.find("nope"), nullptr);
}

TEST_F(SafetensorsTest, EmptyFileAndEmptyTensorsOnly) {
  std::string p = path("none.safetensors");
  ASSERT_OK(writeSafetensors(p, {}));
  EXPECT_EQ(fs::file_size(p), 16u); // "{}" padded to 8.
  auto file = SafetensorsFile::open(p);
  ASSERT_TRUE(file.ok()) << file.status().message();
  EXPECT_TRUE((*file)->tensors().empty());
  EXPECT_EQ((*file)->dataSize(), 0u);

  std::string q = path("zero.safetensors");
  ASSERT_OK(writeSafetensors(q, {{"z", DType::BF16, {3, 0}, {}}}));
  auto ckpt = Checkpoint::open(q);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().message();
  auto values = (*ckpt)->readF32Vector("z");
  ASSERT_TRUE(values.ok()) << values.status().message();
  EXPECT_TRUE(values->empty());
  auto col = (*ckpt)->readF32Vector("z", Slice{0, 1, 2});
  ASSERT_TRUE(col.ok()) << col.status().message();
  EXPECT_TRUE(col->empty());
}

TEST_F(SafetensorsTest, UnpaddedHeaderAndUnalignedData) {
  // Hand-written: a header length that is not a multiple of 8 and a 1-byte
  // tensor first, so the f32 after it is unaligned; both are legal to read.
  std::string header =
      R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[1,9]}})";
  ASSERT_NE(header.size() % 8, 0u);
  auto write = [&](const std::string &p, const std::string &h, int gap,
                   int trailing) {
    std::ofstream out(p, std::ios::binary);
    uint64_t n = h.size();
    for (int i = 0; i < 8; ++i)
      out.put(char(n >> (8 * i)));
    out << h;
    out.put(7);
    for (int i = 0; i < gap; ++i)
      out.put(0);
    const float b[2] = {1.5f, -3.0f};
    out.write(reinterpret_cast<const char *>(b), sizeof(b));
    for (int i = 0; i < trailing; ++i)
      out.put(0);
  };
  std::string p = path("unaligned.safetensors");
  write(p, header, 0, 0);
  auto ckpt = Checkpoint::open(p);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().message();
  auto b = (*ckpt)->readF32Vector("b");
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(*b, (std::vector<float>{1.5f, -3.0f}));

  // The format forbids holes (no polyglot files): a gap between tensors and
  // bytes after the last one are refused.
  std::string gapHeader =
      R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
  write(p, gapHeader, 3, 0);
  auto gap = Checkpoint::open(p);
  ASSERT_FALSE(gap.ok());
  EXPECT_NE(gap.status().message().find(
                "tensor 'b': data_offsets [4, 12] leave bytes [1, 4) of the "
                "data section to no tensor"),
            std::string::npos)
      << gap.status().message();
  write(p, header, 0, 5);
  auto trailing = Checkpoint::open(p);
  ASSERT_FALSE(trailing.ok());
  EXPECT_NE(trailing.status().message().find(
                "the tensors cover 9 bytes of the data section but it has 14"),
            std::string::npos)
      << trailing.status().message();
}

TEST_F(SafetensorsTest, ReadF32FullAndSlicedMatchesCopySlice) {
  std::vector<int64_t> shape = {4, 6, 3};
  std::vector<float> values = ramp(72, 0.125f);
  std::vector<TensorData> tensors = {
      tensorOf("f32", DType::F32, shape, values),
      tensorOf("bf16", DType::BF16, shape, values),
      tensorOf("f16", DType::F16, shape, values),
      tensorOf("f64", DType::F64, shape, values),
      tensorOf("vec", DType::BF16, {10}, ramp(10)),
  };
  std::string p = path("m.safetensors");
  ASSERT_OK(writeSafetensors(p, tensors));
  auto ckpt = Checkpoint::open(p);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().message();

  for (const char *name : {"f32", "bf16", "f16", "f64"}) {
    SCOPED_TRACE(name);
    std::vector<float> full(72);
    ASSERT_OK((*ckpt)->readF32(name, full.data()));
    // ramp(.., 0.125) is exact in every one of these dtypes.
    EXPECT_EQ(full, values);
    for (Slice s : {Slice{0, 1, 2}, Slice{1, 2, 3}, Slice{2, 1, 1},
                    Slice{0, 0, 4}, Slice{1, 5, 0}}) {
      SCOPED_TRACE(testing::Message() << "slice dim " << s.dim << " offset "
                                      << s.offset << " size " << s.size);
      std::vector<float> expected(size_t(numElements(slicedShape(shape, s))));
      copySlice(full.data(), shape, s, expected.data());
      std::vector<float> got(expected.size(), -1.0f);
      ASSERT_OK((*ckpt)->readF32(name, got.data(), s));
      EXPECT_EQ(got, expected);
    }
  }

  // Bytes in the stored dtype, sliced the same way.
  const TensorData &bf = tensors[1];
  Slice s{1, 2, 3};
  std::vector<uint8_t> expected(size_t(numElements(slicedShape(shape, s))) * 2);
  copySliceBytes(bf.bytes.data(), shape, s, 2, expected.data());
  std::vector<uint8_t> got(expected.size());
  ASSERT_OK((*ckpt)->readBytes("bf16", got.data(), s));
  EXPECT_EQ(got, expected);
  std::vector<uint8_t> all(bf.bytes.size());
  ASSERT_OK((*ckpt)->readBytes("bf16", all.data()));
  EXPECT_EQ(all, bf.bytes);

  auto part = (*ckpt)->readF32Vector("vec", Slice{0, 3, 4});
  ASSERT_TRUE(part.ok()) << part.status().message();
  std::vector<float> v = ramp(10);
  EXPECT_EQ(*part, std::vector<float>(v.begin() + 3, v.begin() + 7));
}

TEST_F(SafetensorsTest, BF16ReadRoundsLikeFloatToBf16) {
  std::vector<float> values = {0.1f, -1.0f / 3, 1e-20f, 3.14159f};
  std::string p = path("r.safetensors");
  ASSERT_OK(writeSafetensors(p, {tensorOf("w", DType::BF16, {4}, values)}));
  auto ckpt = Checkpoint::open(p);
  ASSERT_TRUE(ckpt.ok());
  auto got = (*ckpt)->readF32Vector("w");
  ASSERT_TRUE(got.ok());
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ((*got)[i], bf16ToFloat(floatToBf16(values[i])));
    EXPECT_NEAR((*got)[i], values[i], std::fabs(values[i]) / 128);
  }
}

TEST_F(SafetensorsTest, ReadErrorsNameTensorAndRule) {
  std::string p = path("m.safetensors");
  ASSERT_OK(writeSafetensors(
      p, {tensorOf("w", DType::F32, {2, 3}, ramp(6)),
          {"ids", DType::I32, {2}, toBytes(std::vector<int32_t>{1, 2})}}));
  auto ckpt = Checkpoint::open(p);
  ASSERT_TRUE(ckpt.ok());
  std::vector<float> buf(16);
  expectError((*ckpt)->readF32("missing", buf.data()),
              {"'missing'", "not found"});
  expectError((*ckpt)->readF32("w", buf.data(), Slice{2, 0, 1}),
              {"m.safetensors", "'w'", "dim must be in [0, 2)"});
  expectError((*ckpt)->readF32("w", buf.data(), Slice{1, 2, 2}),
              {"'w'", "offset + size must be <= 3"});
  expectError((*ckpt)->readF32("ids", buf.data()),
              {"'ids'", "dtype I32 cannot be read as f32"});
  expectError((*ckpt)->readBytes("w", buf.data(), Slice{0, 3, 0}), {"'w'"});
  auto vec = (*ckpt)->readF32Vector("w", Slice{0, 0, 3});
  ASSERT_FALSE(vec.ok());
  EXPECT_NE(vec.status().message().find("'w'"), std::string::npos);
}

//===----------------------------------------------------------------------===//
// Writer validation
//===----------------------------------------------------------------------===//

TEST_F(SafetensorsTest, WriterRejectsBadInput) {
  std::string p = path("bad.safetensors");
  TensorData ok = tensorOf("w", DType::F32, {2}, {1, 2});
  expectError(writeSafetensors(p, {ok, ok}), {"'w'", "duplicate"});
  expectError(writeSafetensors(p, {{"x", DType::F32, {3}, {0, 0, 0, 0}}}),
              {"'x'", "shape [3] with dtype F32 does not match its 4 bytes"});
  expectError(writeSafetensors(p, {{"neg", DType::U8, {-1}, {}}}),
              {"'neg'", "negative"});
  expectError(writeSafetensors(p, {{"__metadata__", DType::U8, {0}, {}}}),
              {"reserved"});
  expectError(writeSafetensors(p, {{"", DType::U8, {0}, {}}}), {"empty"});
  expectError(writeSafetensors(p, {{"bad\xFF", DType::U8, {0}, {}}}),
              {"UTF-8"});
  expectError(writeSafetensors(p, {}, {{"k", "\xC3"}}), {"'k'", "UTF-8"});
  expectError(writeSafetensors(path("no/such/dir/x.safetensors"), {ok}),
              {"cannot create"});
  EXPECT_FALSE(fs::exists(p));
}

//===----------------------------------------------------------------------===//
// Checkpoints: sharded, folders, index errors
//===----------------------------------------------------------------------===//

TEST_F(SafetensorsTest, ShardedWriteAndIndexRead) {
  std::vector<TensorData> tensors;
  for (int i = 0; i < 5; ++i) // 25 floats = 100 bytes each.
    tensors.push_back(tensorOf("layers." + std::to_string(i) + ".weight",
                               DType::F32, {5, 5}, ramp(25, float(i + 1))));
  std::string dir = path("ckpt");
  ASSERT_OK(writeShardedSafetensors(dir, tensors, 250));

  for (const char *name :
       {"model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
        "model-00003-of-00003.safetensors", "model.safetensors.index.json"})
    EXPECT_TRUE(fs::exists(fs::path(dir) / name)) << name;
  EXPECT_FALSE(fs::exists(fs::path(dir) / "model-00004-of-00003.safetensors"));

  std::ifstream indexIn(fs::path(dir) / "model.safetensors.index.json");
  nlohmann::json index = nlohmann::json::parse(indexIn, nullptr, false);
  ASSERT_FALSE(index.is_discarded());
  EXPECT_EQ(index["metadata"]["total_size"], 500);
  EXPECT_EQ(index["weight_map"]["layers.0.weight"],
            "model-00001-of-00003.safetensors");
  EXPECT_EQ(index["weight_map"]["layers.4.weight"],
            "model-00003-of-00003.safetensors");

  for (const std::string &where :
       {dir, (fs::path(dir) / "model.safetensors.index.json").string()}) {
    SCOPED_TRACE(where);
    auto ckpt = Checkpoint::open(where);
    ASSERT_TRUE(ckpt.ok()) << ckpt.status().message();
    EXPECT_EQ((*ckpt)->files().size(), 3u);
    std::vector<std::string> names = (*ckpt)->names();
    ASSERT_EQ(names.size(), 5u);
    EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
    for (int i = 0; i < 5; ++i) {
      std::string name = "layers." + std::to_string(i) + ".weight";
      const SafetensorsFile *file = nullptr;
      const TensorInfo *info = (*ckpt)->find(name, &file);
      ASSERT_NE(info, nullptr);
      ASSERT_NE(file, nullptr);
      EXPECT_NE(file->path().find(index["weight_map"][name].get<std::string>()),
                std::string::npos);
      EXPECT_EQ(file->metadata().at("format"), "pt");
      auto values = (*ckpt)->readF32Vector(name);
      ASSERT_TRUE(values.ok());
      EXPECT_EQ(*values, ramp(25, float(i + 1)));
    }
  }
}

TEST_F(SafetensorsTest, ShardedSplitsOnlyWhenNeeded) {
  std::vector<TensorData> tensors = {
      tensorOf("a", DType::F32, {10}, ramp(10)), // 40 bytes
      tensorOf("big", DType::F32, {100}, ramp(100)),
      tensorOf("b", DType::F32, {10}, ramp(10))};
  std::string dir = path("s");
  ASSERT_OK(writeShardedSafetensors(dir, tensors, 100));
  // The oversized tensor gets a file of its own.
  EXPECT_TRUE(fs::exists(fs::path(dir) / "model-00003-of-00003.safetensors"));
  auto ckpt = Checkpoint::open(dir);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().message();
  EXPECT_EQ((*ckpt)->names().size(), 3u);

  std::string one = path("one");
  ASSERT_OK(writeShardedSafetensors(one, tensors, 1 << 20));
  EXPECT_TRUE(fs::exists(fs::path(one) / "model-00001-of-00001.safetensors"));
  EXPECT_TRUE(fs::exists(fs::path(one) / "model.safetensors.index.json"));

  expectError(writeShardedSafetensors(path("z"), tensors, 0),
              {"maxBytesPerFile"});
  expectError(writeShardedSafetensors(path("d"), {tensors[0], tensors[0]}, 50),
              {"'a'", "duplicate"});
}

TEST_F(SafetensorsTest, FolderWithoutIndex) {
  fs::create_directory(path("f"));
  ASSERT_OK(writeSafetensors(path("f/b.safetensors"),
                             {tensorOf("y", DType::F32, {1}, {2})}));
  ASSERT_OK(writeSafetensors(path("f/a.safetensors"),
                             {tensorOf("x", DType::F32, {1}, {1})}));
  writeBytes("f/notes.txt", "ignored");
  auto ckpt = Checkpoint::open(path("f"));
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().message();
  ASSERT_EQ((*ckpt)->files().size(), 2u);
  EXPECT_NE((*ckpt)->files()[0]->path().find("a.safetensors"),
            std::string::npos); // Opened in name order.
  EXPECT_EQ((*ckpt)->names(), (std::vector<std::string>{"x", "y"}));

  ASSERT_OK(writeSafetensors(path("f/c.safetensors"),
                             {tensorOf("x", DType::F32, {1}, {3})}));
  auto dup = Checkpoint::open(path("f"));
  ASSERT_FALSE(dup.ok());
  expectError(dup.status(), {"c.safetensors", "'x'", "a.safetensors"});

  fs::create_directory(path("empty"));
  expectError(Checkpoint::open(path("empty")).status(),
              {"no *.safetensors files"});
  expectError(Checkpoint::open(path("missing")).status(),
              {"missing", "no such file"});
}

TEST_F(SafetensorsTest, IndexErrors) {
  fs::create_directory(path("i"));
  ASSERT_OK(writeSafetensors(path("i/part.safetensors"),
                             {tensorOf("x", DType::F32, {1}, {1})}));
  auto writeIndex = [&](const std::string &text) {
    writeBytes("i/model.safetensors.index.json", text);
  };

  writeIndex(R"({"weight_map": {"x": "part.safetensors",)"
             R"( "extra": "gone.safetensors"}})");
  expectError(
      Checkpoint::open(path("i")).status(),
      {"model.safetensors.index.json", "'gone.safetensors'", "does not exist"});

  writeIndex(
      R"({"weight_map": {"x": "part.safetensors", "y": "part.safetensors"}})");
  expectError(Checkpoint::open(path("i")).status(),
              {"model.safetensors.index.json", "'y'", "'part.safetensors'",
               "does not contain it"});

  writeIndex(R"({"weight_map": ["x"]})");
  expectError(Checkpoint::open(path("i")).status(), {"'weight_map'"});
  writeIndex(R"({"metadata": {}})");
  expectError(Checkpoint::open(path("i")).status(), {"'weight_map'"});
  writeIndex(R"({"weight_map": {"x": 3}})");
  expectError(Checkpoint::open(path("i")).status(),
              {"'x'", "weight_map value must be a file name"});
  writeIndex(
      R"({"weight_map": {"x": "part.safetensors", "x": "part.safetensors"}})");
  expectError(Checkpoint::open(path("i")).status(), {"'x'", "more than once"});
  writeIndex("{not json");
  expectError(Checkpoint::open(path("i")).status(),
              {"model.safetensors.index.json", "not valid JSON"});

  // Shards are file names in the folder: an index must not point the loader
  // at files elsewhere (found while fuzzing the index reader).
  ASSERT_OK(writeSafetensors(path("outside.safetensors"),
                             {tensorOf("x", DType::F32, {1}, {1})}));
  for (const char *name :
       {"../outside.safetensors", "/etc/passwd", "sub/part.safetensors",
        "sub\\part.safetensors", "..", ".", ""}) {
    nlohmann::json index = {{"weight_map", {{"x", name}}}};
    writeIndex(index.dump());
    expectError(Checkpoint::open(path("i")).status(),
                {"model.safetensors.index.json", "'x'",
                 "must be the name of a file in the checkpoint folder"});
  }

  // A broken file named by the index reports the file's own error.
  writeBytes("i/part.safetensors", "abc");
  writeIndex(R"({"weight_map": {"x": "part.safetensors"}})");
  expectError(Checkpoint::open(path("i")).status(),
              {"part.safetensors", "shorter than the 8-byte header length"});

  writeIndex(R"({"metadata": {"total_size": 4}, "weight_map": {}})");
  auto empty = Checkpoint::open(path("i"));
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_TRUE((*empty)->names().empty());
}

//===----------------------------------------------------------------------===//
// Malformed files: one case per validation rule
//===----------------------------------------------------------------------===//

struct MalformedCase {
  const char *id;
  std::string header;
  size_t dataBytes;
  std::vector<std::string> expected;
};

// Keeps test names short in ctest output (the default prints raw bytes).
void PrintTo(const MalformedCase &c, std::ostream *os) { *os << c.id; }

std::string entry(const std::string &name, const std::string &body) {
  return "\"" + name + "\":" + body;
}

const MalformedCase kMalformed[] = {
    {"NotJson", "{\"w\": ", 0, {"header is not valid JSON"}},
    {"InvalidUtf8", "{\"w\xFF\": {}}", 0, {"header is not valid JSON"}},
    {"NotObject", "[1, 2]", 0, {"header must be a JSON object", "array"}},
    {"EntryNotObject",
     "{" + entry("w", "5") + "}",
     0,
     {"'w'", "entry must be an object"}},
    {"MissingDtype",
     "{" + entry("w", R"({"shape":[1],"data_offsets":[0,4]})") + "}",
     4,
     {"'w'", "missing field 'dtype'"}},
    {"DtypeNotString",
     "{" + entry("w", R"({"dtype":4,"shape":[1],"data_offsets":[0,4]})") + "}",
     4,
     {"'w'", "field 'dtype' must be a string"}},
    {"UnsupportedDtype",
     "{" + entry("w", R"({"dtype":"F4","shape":[1],"data_offsets":[0,4]})") +
         "}",
     4,
     {"'w'", "field 'dtype' has unsupported value 'F4'"}},
    {"MissingShape",
     "{" + entry("w", R"({"dtype":"F32","data_offsets":[0,4]})") + "}",
     4,
     {"'w'", "missing field 'shape'"}},
    {"ShapeNotArray",
     "{" + entry("w", R"({"dtype":"F32","shape":4,"data_offsets":[0,4]})") +
         "}",
     4,
     {"'w'", "field 'shape' must be an array"}},
    {"ShapeFloat",
     "{" + entry("w", R"({"dtype":"F32","shape":[1.5],"data_offsets":[0,4]})") +
         "}",
     4,
     {"'w'", "field 'shape' must hold non-negative integers", "1.5"}},
    {"ShapeString",
     "{" + entry("w", R"({"dtype":"F32","shape":["1"],"data_offsets":[0,4]})") +
         "}",
     4,
     {"'w'", "field 'shape'"}},
    {"NegativeDim",
     "{" +
         entry("w", R"({"dtype":"F32","shape":[2,-1],"data_offsets":[0,4]})") +
         "}",
     4,
     {"'w'", "field 'shape' has negative dimension -1"}},
    {"DimBeyondInt64",
     "{" +
         entry("w", R"({"dtype":"U8","shape":[18446744073709551615],)"
                    R"("data_offsets":[0,4]})") +
         "}",
     4,
     {"'w'", "beyond the int64 range"}},
    {"ElementCountOverflow",
     "{" +
         entry("w", R"({"dtype":"U8","shape":[4294967296,4294967296],)"
                    R"("data_offsets":[0,8]})") +
         "}",
     8,
     {"'w'", "element count overflows"}},
    {"ByteCountOverflow",
     "{" +
         entry("w", R"({"dtype":"F64","shape":[4611686018427387904],)"
                    R"("data_offsets":[0,8]})") +
         "}",
     8,
     {"'w'", "byte count overflows"}},
    {"MissingOffsets",
     "{" + entry("w", R"({"dtype":"F32","shape":[1]})") + "}",
     4,
     {"'w'", "missing field 'data_offsets'"}},
    {"OffsetsWrongLength",
     "{" + entry("w", R"({"dtype":"F32","shape":[1],"data_offsets":[0]})") +
         "}",
     4,
     {"'w'", "field 'data_offsets' must be an array [begin, end]"}},
    {"OffsetsNegative",
     "{" + entry("w", R"({"dtype":"F32","shape":[1],"data_offsets":[-4,0]})") +
         "}",
     4,
     {"'w'", "field 'data_offsets' must hold two non-negative integers"}},
    {"BeginAfterEnd",
     "{" + entry("w", R"({"dtype":"F32","shape":[1],"data_offsets":[8,4]})") +
         "}",
     8,
     {"'w'", "data_offsets [8, 4] begin after they end"}},
    {"EndBeyondData",
     "{" + entry("w", R"({"dtype":"F32","shape":[2],"data_offsets":[0,8]})") +
         "}",
     4,
     {"'w'", "run past the data section of 4 bytes"}},
    {"SizeMismatch",
     "{" +
         entry("w", R"({"dtype":"BF16","shape":[2,3],"data_offsets":[0,10]})") +
         "}",
     10,
     {"'w'", "shape [2, 3] with dtype BF16 does not match data_offsets "
             "[0, 10] (10 bytes): needs 12 bytes"}},
    {"Overlap",
     "{" + entry("a", R"({"dtype":"F32","shape":[2],"data_offsets":[0,8]})") +
         "," +
         entry("b", R"({"dtype":"F32","shape":[2],"data_offsets":[4,12]})") +
         "}",
     12,
     {"'b'", "overlap those of tensor 'a'"}},
    {"DuplicateTensor",
     "{" + entry("w", R"({"dtype":"F32","shape":[1],"data_offsets":[0,4]})") +
         "," +
         entry("w", R"({"dtype":"F32","shape":[1],"data_offsets":[4,8]})") +
         "}",
     8,
     {"'w'", "tensor name appears more than once"}},
    {"DuplicateField",
     "{" +
         entry("w", R"({"dtype":"F32","dtype":"F16","shape":[1],)"
                    R"("data_offsets":[0,4]})") +
         "}",
     4,
     {"'w'", "key 'dtype' appears more than once"}},
    {"MetadataNotObject",
     R"({"__metadata__": [1]})",
     0,
     {"'__metadata__' must be an object of strings"}},
    {"MetadataValueNotString",
     R"({"__metadata__": {"format": 1}})",
     0,
     {"'__metadata__' key 'format' must map to a string"}},
};

class MalformedTest : public TempDirTest,
                      public ::testing::WithParamInterface<MalformedCase> {};

TEST_P(MalformedTest, ReportsFileTensorAndRule) {
  const MalformedCase &c = GetParam();
  std::string p = writeRaw("bad.safetensors", c.header, c.dataBytes);
  auto file = SafetensorsFile::open(p);
  ASSERT_FALSE(file.ok());
  std::vector<std::string> parts = c.expected;
  parts.push_back("bad.safetensors");
  expectError(file.status(), parts);
  // Checkpoint::open forwards the same message.
  auto ckpt = Checkpoint::open(p);
  ASSERT_FALSE(ckpt.ok());
  EXPECT_EQ(ckpt.status().message(), file.status().message());
}

INSTANTIATE_TEST_SUITE_P(
    Safetensors, MalformedTest, ::testing::ValuesIn(kMalformed),
    [](const ::testing::TestParamInfo<MalformedCase> &caseInfo) {
      return std::string(caseInfo.param.id);
    });

TEST_F(SafetensorsTest, MalformedLengthAndFile) {
  expectError(
      SafetensorsFile::open(writeBytes("empty.safetensors", "")).status(),
      {"empty.safetensors", "0 bytes", "shorter than the 8-byte"});
  expectError(
      SafetensorsFile::open(writeBytes("short.safetensors", "12345")).status(),
      {"short.safetensors", "5 bytes"});
  expectError(
      SafetensorsFile::open(writeRaw("long.safetensors", "{}", 0, 3)).status(),
      {"long.safetensors", "header length 3 runs past the end of the file"});
  expectError(
      SafetensorsFile::open(
          writeRaw("huge.safetensors", "{}", 0, uint64_t(1) << 40))
          .status(),
      {"huge.safetensors", "header length 1099511627776", "exceeds the limit"});
  expectError(SafetensorsFile::open(path("absent.safetensors")).status(),
              {"absent.safetensors", "cannot open"});
  fs::create_directory(path("adir"));
  expectError(SafetensorsFile::open(path("adir")).status(),
              {"adir", "not a regular file"});
  // Zero-length header is not JSON.
  expectError(
      SafetensorsFile::open(writeRaw("zero.safetensors", "", 0)).status(),
      {"zero.safetensors", "not valid JSON"});
}

TEST(StatusTest, Basics) {
  Status ok = Status::ok();
  EXPECT_TRUE(ok.isOk());
  EXPECT_TRUE(bool(ok));
  Status err = Status::error("");
  EXPECT_FALSE(err.isOk()); // Even with an empty message.
  Expected<int> e = Expected<int>::fromError(Status::ok());
  EXPECT_FALSE(e.ok());
  EXPECT_FALSE(e.status().isOk());
  Expected<std::string> v(std::string("x"));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->size(), 1u);
  EXPECT_TRUE(v.status().isOk());
}

} // namespace
