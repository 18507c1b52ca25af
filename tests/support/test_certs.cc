#include "tests/support/test_certs.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

extern char** environ;

namespace safeguarding::testing {
namespace {

// One config file serves every openssl step: it names the (empty) DN section `req` insists
// on, so the system openssl.cnf and its default extensions play no part, and it holds one
// extension section per kind of certificate.
std::string OpensslConfig(const ClientIdentity& client) {
  return "[req]\n"
         "distinguished_name = dn\n"
         "[dn]\n"
         "[ca]\n"
         "basicConstraints = critical, CA:TRUE\n"
         "keyUsage = critical, keyCertSign, cRLSign\n"
         "subjectKeyIdentifier = hash\n"
         "[server]\n"
         "basicConstraints = critical, CA:FALSE\n"
         "keyUsage = critical, digitalSignature\n"
         "extendedKeyUsage = serverAuth\n"
         "subjectKeyIdentifier = hash\n"
         "authorityKeyIdentifier = keyid\n"
         "subjectAltName = DNS:localhost, IP:127.0.0.1\n"
         "[client]\n"
         "basicConstraints = critical, CA:FALSE\n"
         "keyUsage = critical, digitalSignature\n"
         "extendedKeyUsage = clientAuth\n"
         "subjectKeyIdentifier = hash\n"
         "authorityKeyIdentifier = keyid\n"
         "subjectAltName = DNS:" +
         client.dns_name + "\n";
}

void CheckName(const std::string& what, const std::string& value) {
  bool ok = !value.empty();
  for (char c : value) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
  }
  if (!ok) {
    throw std::invalid_argument("test certificate " + what + " '" + value +
                                "': use letters, digits and - _ . only");
  }
}

void WriteFileOrThrow(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc);
  out << content;
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path);
}

// Runs `openssl args...` with stdin from /dev/null and stdout and stderr into `log`;
// throws with the command line and that output unless it exits with status 0.
void RunOpenssl(const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> argv_strings = {"openssl"};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  std::string command_line = "openssl";
  for (std::string& arg : argv_strings) argv.push_back(arg.data());
  for (const std::string& arg : args) command_line += " " + arg;
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = 0;
  int spawn_error = posix_spawnp(&pid, "openssl", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawn_error != 0) {
    throw std::runtime_error("cannot run `" + command_line + "`: " + std::strerror(spawn_error) +
                             " (is the openssl command line tool installed?)");
  }
  int wait_status = 0;
  while (waitpid(pid, &wait_status, 0) < 0) {
    if (errno != EINTR)
      throw std::runtime_error("waitpid failed: " + std::string(std::strerror(errno)));
  }
  if (!WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0) {
    std::string output;
    try {
      output = ReadFileOrThrow(log);
    } catch (const std::runtime_error& e) {
      output = e.what();
    }
    std::string how = WIFEXITED(wait_status)
                          ? "exit status " + std::to_string(WEXITSTATUS(wait_status))
                          : "signal " + std::to_string(WTERMSIG(wait_status));
    throw std::runtime_error("`" + command_line + "` failed (" + how + "):\n" + output);
  }
}

class Pki {
 public:
  explicit Pki(std::string directory) : directory_(std::move(directory)) {}

  std::string Path(const std::string& name) const { return directory_ + "/" + name; }

  std::string NewKey(const std::string& name) {
    std::string key = Path(name + ".key");
    Run({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key});
    return key;
  }

  // A self-signed CA certificate for `key`.
  std::string SelfSignedCa(const std::string& name, const std::string& key,
                           const std::string& subject) {
    std::string cert = Path(name + ".pem");
    Run({"req", "-x509", "-new", "-key", key, "-config", Path("openssl.cnf"), "-extensions", "ca",
         "-subj", subject, "-days", "2", "-sha256", "-out", cert});
    return cert;
  }

  // A certificate for `key` signed by the CA `ca` (a name given to SelfSignedCa), with the
  // extensions of config section `section`.
  std::string Issue(const std::string& name, const std::string& key, const std::string& subject,
                    const std::string& section, const std::string& ca) {
    std::string csr = Path(name + ".csr");
    std::string cert = Path(name + ".pem");
    Run({"req", "-new", "-key", key, "-config", Path("openssl.cnf"), "-subj", subject, "-out",
         csr});
    Run({"x509",
         "-req",
         "-in",
         csr,
         "-CA",
         Path(ca + ".pem"),
         "-CAkey",
         Path(ca + ".key"),
         "-CAcreateserial",
         "-CAserial",
         Path(ca + ".srl"),
         "-extfile",
         Path("openssl.cnf"),
         "-extensions",
         section,
         "-days",
         "2",
         "-sha256",
         "-out",
         cert});
    return cert;
  }

 private:
  void Run(const std::vector<std::string>& args) { RunOpenssl(args, Path("openssl.log")); }

  std::string directory_;
};

}  // namespace

TestCertificates GenerateTestCertificates(const std::string& directory,
                                          const ClientIdentity& client) {
  CheckName("common name", client.common_name);
  CheckName("DNS name", client.dns_name);
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) throw std::runtime_error("cannot create " + directory + ": " + ec.message());

  Pki pki(directory);
  WriteFileOrThrow(pki.Path("openssl.cnf"), OpensslConfig(client));
  const std::string client_subject = "/O=Example/CN=" + client.common_name;

  TestCertificates certs;
  certs.ca_cert = pki.SelfSignedCa("ca", pki.NewKey("ca"), "/O=Example/CN=Test CA");
  certs.server_key = pki.NewKey("server");
  certs.server_cert =
      pki.Issue("server", certs.server_key, "/O=Example/CN=localhost", "server", "ca");
  certs.client_key = pki.NewKey("client");
  certs.client_cert = pki.Issue("client", certs.client_key, client_subject, "client", "ca");

  certs.other_ca_cert =
      pki.SelfSignedCa("other-ca", pki.NewKey("other-ca"), "/O=Example/CN=Other CA");
  certs.other_client_key = pki.NewKey("other-client");
  certs.other_client_cert =
      pki.Issue("other-client", certs.other_client_key, client_subject, "client", "other-ca");

  certs.client_x509_subject = "CN=" + client.common_name + ",O=Example";
  return certs;
}

std::string ReadFileOrThrow(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path + ": " + std::strerror(errno));
  std::stringstream content;
  content << in.rdbuf();
  if (in.bad()) throw std::runtime_error("cannot read " + path);
  return content.str();
}

}  // namespace safeguarding::testing
