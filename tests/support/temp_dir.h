// TempDir: a fresh directory under $TMPDIR (or /tmp), removed with everything in it when
// the object goes out of scope.
#ifndef SAFEGUARDING_TESTS_SUPPORT_TEMP_DIR_H_
#define SAFEGUARDING_TESTS_SUPPORT_TEMP_DIR_H_

#include <string>

namespace safeguarding::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace safeguarding::testing

#endif  // SAFEGUARDING_TESTS_SUPPORT_TEMP_DIR_H_
