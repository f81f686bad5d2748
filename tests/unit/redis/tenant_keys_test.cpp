#include "ragd/redis/tenant_keys.hpp"

#include <gtest/gtest.h>

using namespace ragd::redis;

TEST(TenantKeys, PutTheTenantInItsOwnSegmentUnderThePrefix) {
  EXPECT_EQ(tenant_key("ragd:", "acme", "session", "s1"), "ragd:t:acme:session:{s1}");
  EXPECT_EQ(tenant_key("staging:", "default", "profile", "u:1"), "staging:t:default:profile:{u:1}");
}

TEST(TenantKeys, AcceptOnlyNamesThatCannotReachIntoAnotherTenantsSegment) {
  EXPECT_TRUE(valid_tenant("default"));
  EXPECT_TRUE(valid_tenant("Acme-Corp_2.eu"));
  EXPECT_TRUE(valid_tenant(std::string(64, 'a')));
  EXPECT_FALSE(valid_tenant(""));
  EXPECT_FALSE(valid_tenant(std::string(65, 'a')));
  EXPECT_FALSE(valid_tenant("a:b"));  // would make ("a", "b:session...") ambiguous
  EXPECT_FALSE(valid_tenant("a{b}"));
  EXPECT_FALSE(valid_tenant("a b"));
  EXPECT_FALSE(valid_tenant("caf\xc3\xa9"));
}
