// The file readers: every format reads back exactly; every kind of bad input is an error that
// names the file and the record (or line).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>

#include "engram/error.h"
#include "ingest/jsonl_reader.h"
#include "ingest/record_source.h"
#include "ingest/tests/ingest_test_util.h"
#include "ingest/vector_file.h"

namespace engram::ingest {
namespace {

using testing::error_of;
using testing::Scratch;

std::vector<float> read_all(const std::string& path) {
  auto r = VectorReader::open(path);
  std::vector<float> out;
  r->read(r->count(), &out);
  return out;
}

TEST(IngestReaders, FvecsNpyAndBvecsReadBack) {
  Scratch s;
  const auto data = testing::rows(10, 4);
  testing::write_fvecs(s / "a.fvecs", data, 4);
  testing::write_npy(s / "a.npy", data, 4);
  EXPECT_EQ(read_all(s / "a.fvecs"), data);
  EXPECT_EQ(read_all(s / "a.npy"), data);
  std::string b;
  for (int i = 0; i < 3; ++i) {
    const std::int32_t d = 2;
    b.append(reinterpret_cast<const char*>(&d), 4);
    b.push_back(static_cast<char>(i));
    b.push_back(static_cast<char>(200));
  }
  testing::write_bytes(s / "a.bvecs", b);
  EXPECT_EQ(read_all(s / "a.bvecs"), (std::vector<float>{0, 200, 1, 200, 2, 200}));
  auto r = VectorReader::open(s / "a.fvecs");
  r->seek(7);
  std::vector<float> tail;
  EXPECT_EQ(r->read(100, &tail), 3u);
  EXPECT_EQ(tail[0], 7.0f);
}

// numpy saves float64 unless told otherwise, and float16 halves the size of stored embeddings:
// both are read as float32 and say they were converted.
TEST(IngestReaders, NpyFloat64AndFloat16AreConvertedToFloat32) {
  Scratch s;
  const std::vector<double> doubles = {0.1, -2.5, 1e-3, 3.0, 123456.789, -0.0};
  testing::write_npy_raw(s / "d.npy", "<f8", std::string(reinterpret_cast<const char*>(doubles.data()), 6 * 8), 3, 2);
  auto r = VectorReader::open(s / "d.npy");
  EXPECT_EQ(r->source_type(), "float64");
  EXPECT_EQ(r->dim(), 2u);
  std::vector<float> got;
  ASSERT_EQ(r->read(3, &got), 3u);
  for (std::size_t i = 0; i < doubles.size(); ++i) EXPECT_EQ(got[i], static_cast<float>(doubles[i])) << i;

  // 1, -2, the smallest subnormal (2^-24), the largest half (65504), 1/3 rounded to a half, 0.
  const std::vector<std::uint16_t> halves = {0x3C00, 0xC000, 0x0001, 0x7BFF, 0x3555, 0x0000};
  const std::vector<float> want = {1.0f, -2.0f, std::ldexp(1.0f, -24), 65504.0f, 0.333251953125f, 0.0f};
  testing::write_npy_raw(s / "h.npy", "<f2", std::string(reinterpret_cast<const char*>(halves.data()), 6 * 2), 2, 3);
  r = VectorReader::open(s / "h.npy");
  EXPECT_EQ(r->source_type(), "float16");
  got.clear();
  ASSERT_EQ(r->read(2, &got), 2u);
  EXPECT_EQ(got, want);

  // A pair source names what it converted; float32 converts nothing.
  testing::write_npy(s / "v.npy", testing::rows(3, 2), 2);
  EXPECT_EQ(RecordSource::open(s / "d.npy", s / "v.npy")->conversion(), "keys float64 -> float32");
  EXPECT_EQ(RecordSource::open(s / "v.npy", s / "v.npy")->conversion(), "");
  EXPECT_EQ(VectorReader::open(s / "v.npy")->source_type(), "");

  // A double beyond float's range is refused naming its record; big-endian and integer arrays too.
  const std::vector<double> huge = {1.0, 1e300};
  testing::write_npy_raw(s / "big.npy", "<f8", std::string(reinterpret_cast<const char*>(huge.data()), 16), 2, 1);
  r = VectorReader::open(s / "big.npy");
  got.clear();
  const std::string e = error_of([&] { r->read(2, &got); });
  EXPECT_NE(e.find("record 2"), std::string::npos) << e;
  testing::write_npy_raw(s / "be.npy", ">f8", std::string(16, '\0'), 2, 1);
  EXPECT_NE(error_of([&] { VectorReader::open(s / "be.npy"); }).find("dtype"), std::string::npos);
  testing::write_npy_raw(s / "i.npy", "<i4", std::string(8, '\0'), 2, 1);
  EXPECT_NE(error_of([&] { VectorReader::open(s / "i.npy"); }).find("dtype"), std::string::npos);
}

TEST(IngestReaders, TruncatedFilesNameTheIncompleteRecord) {
  Scratch s;
  testing::write_fvecs(s / "t.fvecs", testing::rows(5, 4), 4);
  std::string bytes = testing::read_bytes(s / "t.fvecs");
  testing::write_bytes(s / "t.fvecs", bytes.substr(0, bytes.size() - 3));
  const std::string e = error_of([&] { VectorReader::open(s / "t.fvecs"); });
  EXPECT_NE(e.find("t.fvecs"), std::string::npos) << e;
  EXPECT_NE(e.find("truncated: record 5"), std::string::npos) << e;

  testing::write_npy(s / "t.npy", testing::rows(5, 4), 4);
  bytes = testing::read_bytes(s / "t.npy");
  testing::write_bytes(s / "t.npy", bytes.substr(0, bytes.size() - 20));
  const std::string n = error_of([&] { VectorReader::open(s / "t.npy"); });
  EXPECT_NE(n.find("t.npy: truncated"), std::string::npos) << n;
  EXPECT_NE(n.find("record 4"), std::string::npos) << n;
}

TEST(IngestReaders, MixedDimensionsNameTheRecord) {
  Scratch s;
  std::string bytes;
  auto add = [&](int d) {
    bytes.append(reinterpret_cast<const char*>(&d), 4);
    const auto row = testing::rows(1, static_cast<std::size_t>(d));
    bytes.append(reinterpret_cast<const char*>(row.data()), 4 * static_cast<std::size_t>(d));
  };
  add(4);
  add(4);
  add(3);
  add(4);
  testing::write_bytes(s / "m.fvecs", bytes);
  const std::string e = error_of([&] { VectorReader::open(s / "m.fvecs"); });
  EXPECT_NE(e.find("m.fvecs: record 3 has dimension 3, record 1 has 4"), std::string::npos) << e;
}

TEST(IngestReaders, NanNamesTheRecord) {
  Scratch s;
  auto data = testing::rows(6, 4);
  data[4 * 4 + 2] = std::nanf("");
  testing::write_fvecs(s / "n.fvecs", data, 4);
  const std::string e = error_of([&] { read_all(s / "n.fvecs"); });
  EXPECT_NE(e.find("n.fvecs: record 5 holds a NaN"), std::string::npos) << e;
}

// Files of several read groups (a reader reads and checks ~256 KiB at a time, float32 formats
// straight into the caller's buffer): every group reads back exactly, whatever the read sizes,
// and a bad record in a later group is named by its number.
TEST(IngestReaders, ManyReadGroupsReadExactlyAndNameALateBadRecord) {
  Scratch s;
  const std::size_t n = 5000, dim = 48;  // 196 B records: 5000 of them span 4 groups of 1337
  const auto data = testing::rows(n, dim);
  testing::write_fvecs(s / "g.fvecs", data, dim);
  testing::write_npy(s / "g.npy", data, dim);
  for (const std::string f : {"g.fvecs", "g.npy"}) {
    auto r = VectorReader::open(s / f);
    std::vector<float> out;
    std::size_t got = 0;
    for (std::size_t step : {1u, 700u, 1400u, 2000u, 9999u}) got += r->read(step, &out);
    EXPECT_EQ(got, n) << f;
    EXPECT_EQ(out, data) << f;
  }

  auto bad = data;
  bad[4321 * dim + 47] = -std::numeric_limits<float>::infinity();
  testing::write_fvecs(s / "b.fvecs", bad, dim);
  testing::write_npy(s / "b.npy", bad, dim);
  for (const std::string f : {"b.fvecs", "b.npy"}) {
    const std::string e = error_of([&] { read_all(s / f); });
    EXPECT_NE(e.find(f + ": record 4322 holds a NaN or Inf (element 47)"), std::string::npos) << e;
  }

  // A header that names another dimension in a file of the right size: found when read.
  std::string bytes = testing::read_bytes(s / "g.fvecs");
  const std::int32_t other = 49;
  std::memcpy(&bytes[3000 * (4 + 4 * dim)], &other, 4);
  testing::write_bytes(s / "h.fvecs", bytes);
  const std::string e = error_of([&] { read_all(s / "h.fvecs"); });
  EXPECT_NE(e.find("h.fvecs: record 3001 has dimension 49, record 1 has 48"), std::string::npos) << e;
}

TEST(IngestReaders, MissingOrMismatchedValuesFile) {
  Scratch s;
  testing::write_fvecs(s / "k.fvecs", testing::rows(5, 4), 4);
  std::string e = error_of([&] { RecordSource::open(s / "k.fvecs", s / "nope.fvecs"); });
  EXPECT_NE(e.find("nope.fvecs: cannot open"), std::string::npos) << e;
  e = error_of([&] { RecordSource::open(s / "k.fvecs", ""); });
  EXPECT_NE(e.find("--values"), std::string::npos) << e;
  testing::write_fvecs(s / "v.fvecs", testing::rows(4, 2), 2);
  e = error_of([&] { RecordSource::open(s / "k.fvecs", s / "v.fvecs"); });
  EXPECT_NE(e.find("v.fvecs: holds 4 records but"), std::string::npos) << e;
}

TEST(IngestReaders, JsonLinesReadsRecordsAndRejectsBadLinesByNumber) {
  Scratch s;
  testing::write_bytes(s / "r.jsonl",
                       "{\"key\":[1,2],\"value\":[3],\"payload\":\"a\"}\n\n"
                       "{\"key\":[4,5],\"value\":[6],\"payload\":{\"x\":1}}\n");
  auto src = RecordSource::open(s / "r.jsonl", "");
  EXPECT_EQ(src->key_dim(), 2u);
  EXPECT_EQ(src->value_dim(), 1u);
  Batch b;
  ASSERT_TRUE(src->next(10, &b));
  EXPECT_EQ(b.rows, 2u);
  EXPECT_EQ(b.keys, (std::vector<float>{1, 2, 4, 5}));
  EXPECT_EQ(b.payloads[1], "{\"x\":1}");

  auto fails = [&](const std::string& text) {
    testing::write_bytes(s / "bad.jsonl", text);
    return error_of([&] {
      auto src2 = RecordSource::open(s / "bad.jsonl", "");
      Batch bb;
      while (src2->next(10, &bb)) {
      }
    });
  };
  const std::string ok = "{\"key\":[1,2],\"value\":[3]}\n";
  std::string e = fails(ok + ok + "{\"key\":[1,2],\"value\":[3]\n");
  EXPECT_NE(e.find("bad.jsonl: line 3: not a JSON object"), std::string::npos) << e;
  e = fails(ok + "{\"key\":[1,2,3],\"value\":[3]}\n");
  EXPECT_NE(e.find("line 2: \"key\" has 3 numbers, the first record has 2"), std::string::npos) << e;
  e = fails(ok + "{\"key\":[1,\"x\"],\"value\":[3]}\n");
  EXPECT_NE(e.find("line 2: \"key\" must hold numbers only"), std::string::npos) << e;
  e = fails(ok + "{\"value\":[3]}\n");
  EXPECT_NE(e.find("line 2: missing \"key\""), std::string::npos) << e;
  e = fails(ok + "{\"key\":[1,2],\"value\":[3],\"extra\":1}\n");
  EXPECT_NE(e.find("line 2: unknown field \"extra\""), std::string::npos) << e;
}

// A line is held whole while it is parsed, so it is bounded: a longer one is refused by number
// after limit + 1 bytes of it were read, whatever its real length.
TEST(IngestReaders, JsonLinesRefusesALineOverTheLimitWithoutReadingItWhole) {
  const std::string ok = "{\"key\":[1,2],\"value\":[3]}";
  std::istringstream in(ok + "\n" + ok + "\n{\"key\":[" + std::string(10'000'000, '1'));
  JsonlReader reader(in, "body", 2, 1, /*max_line_bytes=*/ok.size());
  Batch b;
  const std::string e = error_of([&] { reader.next(10, &b); });
  EXPECT_NE(e.find("body: line 3: longer than " + std::to_string(ok.size()) + " bytes"), std::string::npos) << e;
  in.clear();
  EXPECT_LE(static_cast<std::size_t>(in.tellg()), 2 * (ok.size() + 1) + ok.size() + 1);
  try {
    std::istringstream again("\n" + ok + "x\n");
    JsonlReader r2(again, "body", 2, 1, ok.size());
    r2.next(10, &b);
    ADD_FAILURE() << "no error";
  } catch (const LineTooLong&) {  // its own type: the server answers it 413
  }
  // A line of exactly the limit, with or without its '\n', is a record.
  std::istringstream exact(ok + "\n" + ok);
  JsonlReader r3(exact, "body", 2, 1, ok.size());
  ASSERT_TRUE(r3.next(10, &b));
  EXPECT_EQ(b.rows, 2u);
  EXPECT_EQ(r3.offset(), 2 * ok.size() + 1);
}

TEST(IngestReaders, DefaultLineLimitFollowsTheDimensions) {
  EXPECT_EQ(default_max_line_bytes(4, 3), (1u << 20) + 32 * 7);
  EXPECT_EQ(default_max_line_bytes(0, 0), (1u << 20) + 32 * 2 * 65536);  // not known yet: the largest
  // `engram export` writes a float in at most 24 characters: a record of the largest
  // dimensions at full precision fits.
  EXPECT_GT(default_max_line_bytes(65536, 65536), 2 * 65536 * (24 + 1) + 100);
}

TEST(IngestReaders, JsonLinesFileLineLimitAndResumeKeepLineNumbers) {
  Scratch s;
  const std::string ok = "{\"key\":[1,2],\"value\":[3]}\n";
  testing::write_bytes(s / "long.jsonl", ok + ok + "{\"key\":[1,2],\"value\":[3],\"payload\":\"" +
                                             std::string(100, 'p') + "\"}\n");
  std::string e = error_of([&] {
    auto src = RecordSource::open(s / "long.jsonl", "", /*max_line_bytes=*/64);
    Batch b;
    while (src->next(10, &b)) {
    }
  });
  EXPECT_NE(e.find("long.jsonl: line 3: longer than 64 bytes"), std::string::npos) << e;
  // After a resume (a seek to record 2's end), errors still name the right line.
  e = error_of([&] {
    auto src = RecordSource::open(s / "long.jsonl", "", 64);
    src->skip_to(2, 2 * ok.size());
    Batch b;
    src->next(10, &b);
  });
  EXPECT_NE(e.find("line 3:"), std::string::npos) << e;
}

}  // namespace
}  // namespace engram::ingest
