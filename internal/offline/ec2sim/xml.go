package ec2sim

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"reflect"
	"strconv"
	"time"
)

// xmlName is the element EC2 sends for one field and, for a list, the
// element of each member ("item" throughout EC2).
type xmlName struct {
	elem, item string
}

//go:generate go run ./internal/xmlnamesgen -o xmlnames_gen.go

// ec2Namespace is the namespace EC2 puts on every response's root element.
const ec2Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/"

// encodeResponse renders out (an SDK output struct such as
// ec2.DescribeInstancesOutput) as the body of action's response, naming
// every element from the SDK's own deserializer so that the SDK decodes
// exactly what was encoded.
func encodeResponse(action, requestID string, out any) []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString("<" + action + "Response xmlns=\"" + ec2Namespace + "\">")
	b.WriteString("<requestId>" + requestID + "</requestId>")
	if out != nil {
		encodeFields(&b, reflect.Indirect(reflect.ValueOf(out)))
	}
	b.WriteString("</" + action + "Response>")
	return b.Bytes()
}

// encodeFields writes each field of struct v that EC2 has an element for;
// fields the deserializer never reads (metadata) are left out.
func encodeFields(b *bytes.Buffer, v reflect.Value) {
	names := xmlNames[v.Type().Name()]
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		n, ok := names[t.Field(i).Name]
		if !ok {
			continue
		}
		encodeValue(b, n, v.Field(i))
	}
}

var timeType = reflect.TypeOf(time.Time{})

func encodeValue(b *bytes.Buffer, n xmlName, v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return
		}
		encodeValue(b, n, v.Elem())
		return
	case reflect.Slice:
		if v.IsNil() {
			return
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			writeText(b, n.elem, base64.StdEncoding.EncodeToString(v.Bytes()))
			return
		}
		// An empty but present list is sent as an empty element: the SDK
		// then decodes an empty slice, not nil, as the snapshot had it.
		b.WriteString("<" + n.elem + ">")
		for i := 0; i < v.Len(); i++ {
			encodeValue(b, xmlName{elem: n.item}, v.Index(i))
		}
		b.WriteString("</" + n.elem + ">")
		return
	case reflect.Struct:
		if v.Type() == timeType {
			writeText(b, n.elem, v.Interface().(time.Time).UTC().Format("2006-01-02T15:04:05.000Z"))
			return
		}
		b.WriteString("<" + n.elem + ">")
		encodeFields(b, v)
		b.WriteString("</" + n.elem + ">")
		return
	case reflect.String:
		if v.String() == "" && n.item == "" && v.Type().Name() != "string" {
			// An unset enum: the SDK leaves it "" when the element is absent.
			return
		}
		writeText(b, n.elem, v.String())
	case reflect.Bool:
		writeText(b, n.elem, strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		writeText(b, n.elem, strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		writeText(b, n.elem, strconv.FormatUint(v.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		writeText(b, n.elem, strconv.FormatFloat(v.Float(), 'g', -1, 64))
	}
}

func writeText(b *bytes.Buffer, elem, text string) {
	b.WriteString("<" + elem + ">")
	_ = xml.EscapeText(b, []byte(text)) // writing to a bytes.Buffer cannot fail
	b.WriteString("</" + elem + ">")
}
