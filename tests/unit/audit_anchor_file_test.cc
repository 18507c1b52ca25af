// The audit anchor file (common/audit_anchor.h): written aside to a temporary file created
// new with mode 0600 and renamed into place; a temporary file left by a crash (whatever it
// is: junk, a file open to others, a link) is removed and never written through.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/audit_anchor.h"
#include "tests/support/temp_dir.h"

namespace safeguarding::common {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

AuditAnchorPoint Anchor(uint64_t sequence, char fill) {
  return AuditAnchorPoint{.sequence = sequence,
                          .hash = std::string(AuditAnchorPoint::kHashBytes, fill)};
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::vector<std::string> FilesIn(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

void ExpectAnchorIn(const std::string& path, const AuditAnchorPoint& expected) {
  absl::StatusOr<std::optional<AuditAnchorPoint>> read = ReadAnchorFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->ToString(), expected.ToString());
}

TEST(AuditAnchorFileTest, IsWrittenWithMode0600AndNothingLeftBeside) {
  testing::TempDir dir;
  const std::string path = dir.Sub("audit-anchor");
  ASSERT_TRUE(WriteAnchorFile(path, Anchor(7, 'a'), "test").ok());
  ExpectAnchorIn(path, Anchor(7, 'a'));
  EXPECT_THAT(ReadFile(path), ::testing::StartsWith("# test (sequence:hash)\n"));
  EXPECT_EQ(ModeOf(path), 0600u);
  ASSERT_TRUE(WriteAnchorFile(path, Anchor(8, 'b'), "test").ok());
  ExpectAnchorIn(path, Anchor(8, 'b'));
  EXPECT_THAT(FilesIn(dir.path()), ElementsAre("audit-anchor"));
}

TEST(AuditAnchorFileTest, ATemporaryFileLeftByACrashIsReplaced) {
  testing::TempDir dir;
  const std::string path = dir.Sub("audit-anchor");
  ASSERT_TRUE(WriteAnchorFile(path, Anchor(1, 'a'), "test").ok());
  {
    std::ofstream(path + ".tmp") << "half-written junk, and long enough to outlast the anchor: "
                                 << std::string(200, 'x');
  }
  ASSERT_EQ(::chmod((path + ".tmp").c_str(), 0644), 0);

  ASSERT_TRUE(WriteAnchorFile(path, Anchor(2, 'b'), "test").ok());
  ExpectAnchorIn(path, Anchor(2, 'b'));
  EXPECT_THAT(ReadFile(path), Not(HasSubstr("junk")));
  EXPECT_EQ(ModeOf(path), 0600u) << "the leftover's mode is not kept";
  EXPECT_THAT(FilesIn(dir.path()), ElementsAre("audit-anchor"));
}

TEST(AuditAnchorFileTest, ALinkLeftAsTheTemporaryFileIsRemovedNotWrittenThrough) {
  testing::TempDir dir;
  const std::string path = dir.Sub("audit-anchor");
  const std::string elsewhere = dir.Sub("elsewhere");
  { std::ofstream(elsewhere) << "not the anchor's\n"; }
  ASSERT_EQ(::symlink(elsewhere.c_str(), (path + ".tmp").c_str()), 0);

  ASSERT_TRUE(WriteAnchorFile(path, Anchor(3, 'c'), "test").ok());
  ExpectAnchorIn(path, Anchor(3, 'c'));
  EXPECT_EQ(ReadFile(elsewhere), "not the anchor's\n");
  EXPECT_THAT(FilesIn(dir.path()), ElementsAre("audit-anchor", "elsewhere"));
}

TEST(AuditAnchorFileTest, ATemporaryPathThatCannotBeRemovedFailsAndKeepsTheAnchor) {
  testing::TempDir dir;
  const std::string path = dir.Sub("audit-anchor");
  ASSERT_TRUE(WriteAnchorFile(path, Anchor(4, 'd'), "test").ok());
  std::filesystem::create_directories(path + ".tmp/in-the-way");

  absl::Status written = WriteAnchorFile(path, Anchor(5, 'e'), "test");
  EXPECT_EQ(written.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(written.message(), HasSubstr(path + ".tmp: cannot create"));
  ExpectAnchorIn(path, Anchor(4, 'd'));
}

}  // namespace
}  // namespace safeguarding::common
