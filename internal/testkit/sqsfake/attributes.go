package sqsfake

import (
	"crypto/md5" //nolint:gosec // G501: MD5OfMessageAttributes is MD5 by the SQS protocol.
	"encoding/binary"
	"encoding/hex"
	"sort"
	"strings"
)

// Attribute is one message attribute. The fake holds no binary attributes,
// so every value is a string: DataType is String, Number or a custom
// String.x or Number.x.
type Attribute struct{ DataType, StringValue string }

// namedAttributes picks the message attributes a receive gets, as SQS reads
// MessageAttributeNames: "All", ".*" or "*" is every attribute, "prefix.*"
// those whose names start with prefix, any other entry the attribute of
// exactly that name; a receive that names none gets none. The API reference
// gives All, .* and bar.*; LocalStack's tests recorded against SQS show
// that "*" is every attribute too and that "Hel.*" names both "Hello" and
// "Help.Me" while "Help" names neither.
func namedAttributes(attrs map[string]Attribute, names []string) map[string]Attribute {
	named := func(attr string) bool {
		for _, n := range names {
			prefix, isPrefix := strings.CutSuffix(n, ".*")
			if n == "All" || n == "*" || n == attr || (isPrefix && strings.HasPrefix(attr, prefix)) {
				return true
			}
		}
		return false
	}
	picked := map[string]Attribute{}
	for name, a := range attrs {
		if named(name) {
			picked[name] = a
		}
	}
	return picked
}

// AttributesMD5 is MD5OfMessageAttributes as the SQS Developer Guide
// defines it ("Calculating the MD5 message digest for message
// attributes"): the attributes sorted by name, each encoded as its name,
// its data type, one transport-type byte (1 for String and Number, 2 for
// Binary, which the fake does not hold) and its value, every one of those
// strings preceded by its length as 4 big-endian bytes. The SDK checks only
// MD5OfBody, so the package's tests hold this to digests SQS returned.
func AttributesMD5(attrs map[string]Attribute) string {
	names := make([]string, 0, len(attrs))
	for name := range attrs {
		names = append(names, name)
	}
	sort.Strings(names)
	var b []byte
	field := func(s string) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s))) //nolint:gosec // G115: SQS caps a message at 1 MiB.
		b = append(b, s...)
	}
	for _, name := range names {
		field(name)
		field(attrs[name].DataType)
		b = append(b, 1)
		field(attrs[name].StringValue)
	}
	sum := md5.Sum(b) //nolint:gosec // G401: the SQS protocol's digest, not a security control.
	return hex.EncodeToString(sum[:])
}
