// RefusalSource (services/access_guard.h): the key a failed authentication's audit
// allowance is kept under.
#include <gtest/gtest.h>

#include "services/access_guard.h"

namespace safeguarding::services {
namespace {

TEST(RefusalSourceTest, TheAddressWithoutItsPortAndForIpv6ItsSlash64) {
  EXPECT_EQ(RefusalSource("ipv4:192.0.2.7:51234"), "ipv4:192.0.2.7");
  EXPECT_EQ(RefusalSource("ipv6:[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:443"),
            "ipv6:[2001:db8:1:2::]/64");
  EXPECT_EQ(RefusalSource("ipv6:[2001:db8:1:2::9]:443"), RefusalSource("ipv6:[2001:db8:1:2::1]:1"))
      << "one network, one allowance";
  EXPECT_NE(RefusalSource("ipv6:[2001:db8:1:3::1]:1"), RefusalSource("ipv6:[2001:db8:1:2::1]:1"));
  EXPECT_EQ(RefusalSource("ipv6:%5B::1%5D:50051"), "ipv6:[::]/64");
  EXPECT_EQ(RefusalSource("unix:/run/triage.sock"), "unix");
  EXPECT_EQ(RefusalSource("ipv6:[not-an-address]:1"), "not-an-address");
}

}  // namespace
}  // namespace safeguarding::services
