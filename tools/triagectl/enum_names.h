// Command-line spellings of the contract's enums: REPORTER_TYPE_PARENT_CARER <-> "parent-carer".
// Derived from the proto descriptors, so a value added to the contract is accepted at once.
#ifndef SAFEGUARDING_TOOLS_TRIAGECTL_ENUM_NAMES_H_
#define SAFEGUARDING_TOOLS_TRIAGECTL_ENUM_NAMES_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"

namespace safeguarding::tools {

// "parent-carer" -> the value REPORTER_TYPE_PARENT_CARER of `type` (prefix: the enum's
// name in upper snake case), or nullopt. UNSPECIFIED is never accepted.
std::optional<int> ParseEnumFlag(const google::protobuf::EnumDescriptor* type,
                                 absl::string_view text);
// The reverse: 3 -> "professional"; unknown numbers print as their number.
std::string EnumFlagName(const google::protobuf::EnumDescriptor* type, int value);
// Every accepted spelling, for help texts and error messages.
std::vector<std::string> EnumFlagNames(const google::protobuf::EnumDescriptor* type);

}  // namespace safeguarding::tools

#endif  // SAFEGUARDING_TOOLS_TRIAGECTL_ENUM_NAMES_H_
