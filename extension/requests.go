package extension

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/go-playground/validator/v10"

	"github.com/akinon-gateway/gateway/provider"
)

// orderCall is what every call names: the version, the guid that makes
// it idempotent and the order.
type orderCall struct {
	Version string `json:"version" validate:"max=32"`
	GUID    string `json:"guid" validate:"required,max=128,token"`
	OrderID string `json:"orderId" validate:"required,max=128,token"`
}

// identified is a decoded body that names its guid and order.
type identified interface{ ids() (guid, order string) }

func (o *orderCall) ids() (guid, order string) { return o.GUID, o.OrderID }

// The request bodies of the five calls. Amounts are kept raw and parsed
// by provider.ParseJSONMoney, which refuses a string where a number is due
// and more than two decimals.
type startSessionRequest struct {
	orderCall
	OrderAmount    json.RawMessage `json:"orderAmount"`
	Locale         string          `json:"locale" validate:"required,bcp47_language_tag"`
	ReturnURL      string          `json:"returnUrl" validate:"required,max=2048,url"`
	Type           string          `json:"type" validate:"required,oneof=SALE AUTH"`
	Currency       string          `json:"currency" validate:"required,iso4217"`
	ClientIP       string          `json:"clientIp" validate:"omitempty,ip"`
	Customer       *customer       `json:"customer" validate:"required"`
	TargetProvider string          `json:"targetProvider" validate:"omitempty,max=64,token"`
}

type customer struct {
	FirstName   string `json:"firstName" validate:"required,max=100,token"`
	LastName    string `json:"lastName" validate:"required,max=100,token"`
	PhoneNumber string `json:"phoneNumber" validate:"omitempty,max=32,token"`
	Email       string `json:"email" validate:"required,max=254,email"`
	ClientIP    string `json:"clientIp" validate:"omitempty,ip"`
}

type purchaseRequest struct {
	orderCall
	OrderAmount json.RawMessage `json:"orderAmount"`
}

type voidRequest struct {
	orderCall
}

type refundRequest struct {
	orderCall
	Amount   json.RawMessage `json:"amount"`
	Currency string          `json:"currency" validate:"required,iso4217"`
}

type historyRequest struct {
	orderCall
	Type          string `json:"type" validate:"omitempty,oneof=START REFUND VOID PURCHASE HISTORY"`
	TransactionID string `json:"transactionId" validate:"omitempty,max=128,token"`
	Status        string `json:"status" validate:"omitempty,oneof=REJECTED RESOLVED PENDING"`
	SubStatus     string `json:"subStatus" validate:"omitempty,oneof=PROCESSING_ERROR RISKY RESOLVED PAYMENT_WAITING"`
}

// newValidator reports fields by their JSON path (customer.email), the
// names Akinon sent.
func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		return name
	})
	// token: one line of printable text, no surrounding spaces; ids and
	// names end up in keys, logs and pages.
	_ = v.RegisterValidation("token", func(fl validator.FieldLevel) bool {
		s := fl.Field().String()
		if !utf8.ValidString(s) || strings.TrimSpace(s) != s {
			return false
		}
		for _, r := range s {
			if !unicode.IsPrint(r) {
				return false
			}
		}
		return true
	})
	return v
}

// decodeJSON reads a JSON body into dst by the rules of encoding/json/v2:
// names match exactly, strings are valid UTF-8, a name appears once in an
// object and nothing follows the value. encoding/json would take ORDERID
// for orderId and turn invalid bytes into U+FFFD, so two different byte
// strings could become one order; here both are 400s naming the field.
// Unknown names are still ignored (the contract lets Akinon add fields),
// unless they differ from a declared name only in case.
//
// A body whose names are all declared (Akinon's, almost always) is read
// once; only one with another name is read again and its names walked.
func decodeJSON(body []byte, dst any) error {
	if jsonv2.Unmarshal(body, dst, jsonv2.RejectUnknownMembers(true)) == nil {
		return nil
	}
	reflect.ValueOf(dst).Elem().SetZero()
	err := jsonv2.Unmarshal(body, dst)
	var se *jsontext.SyntacticError
	var me *jsonv2.SemanticError
	switch {
	case err == nil:
		return caseVariant(body, reflect.TypeOf(dst))
	case errors.As(err, &se) && errors.Is(se.Err, jsontext.ErrDuplicateName):
		return invalidField(jsonPath(se.JSONPointer), "appears more than once")
	case errors.As(err, &se) && onlyEncoding(body):
		if f := jsonPath(se.JSONPointer); f != "" {
			return invalidField(f, "must be valid UTF-8 (no invalid bytes or lone surrogate escapes)")
		}
		return provider.Errorf(provider.CodeMalformedJSON, "", "the body is not valid UTF-8")
	case errors.As(err, &me) && me.GoType != nil:
		return invalidField(jsonPath(me.JSONPointer), "must be a JSON "+jsonKind(me.GoType))
	}
	return provider.Errorf(provider.CodeMalformedJSON, "", "the body is not valid JSON")
}

func invalidField(field, msg string) error {
	return provider.FieldErrors{{Code: provider.CodeInvalidField, Field: field, Message: msg}}
}

// onlyEncoding tells whether a body the strict reading refused is valid
// JSON but for its encoding: invalid UTF-8 or lone surrogate escapes.
func onlyEncoding(body []byte) bool {
	var v jsontext.Value
	return jsonv2.Unmarshal(body, &v, jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true)) == nil
}

// caseVariant walks the objects of a decoded body along the declared
// types and refuses a name that matches a declared one only when case is
// ignored.
func caseVariant(body []byte, t reflect.Type) error {
	return walkNames(jsontext.NewDecoder(bytes.NewReader(body)), t, "")
}

func walkNames(dec *jsontext.Decoder, t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct || dec.PeekKind() != '{' {
		return dec.SkipValue()
	}
	fields := jsonFields(t)
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		name := tok.String()
		ft, ok := fields[name]
		if !ok {
			for declared := range fields {
				if strings.EqualFold(declared, name) {
					return invalidField(joinPath(path, declared),
						fmt.Sprintf("unknown field %s: field names are case-sensitive (%s)", name, declared))
				}
			}
		}
		if err := walkNames(dec, ft, joinPath(path, name)); err != nil {
			return err
		}
	}
	_, err := dec.ReadToken()
	return err
}

// fieldsOf caches jsonFields by type.
var fieldsOf sync.Map // reflect.Type → map[string]reflect.Type

// jsonFields maps a struct's JSON names to their types; an unknown name
// maps to nil, whose value walkNames skips.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldsOf.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := declaredFields(t)
	fieldsOf.Store(t, m)
	return m
}

func declaredFields(t reflect.Type) map[string]reflect.Type {
	out := make(map[string]reflect.Type, t.NumField())
	for f := range t.Fields() {
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			maps.Copy(out, declaredFields(f.Type)) // an embedded struct's names stand in the body itself
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.IsExported() && name != "-" && name != "" {
			out[name] = f.Type
		}
	}
	return out
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// jsonPath writes a JSON pointer the way errors name fields: /customer/email
// is customer.email.
func jsonPath(p jsontext.Pointer) string {
	var path string
	for tok := range p.Tokens() {
		path = joinPath(path, tok)
	}
	return path
}

// check validates a decoded request; every failure names its field.
func (s *Server) check(dst any) error {
	err := s.validate.Struct(dst)
	var ve validator.ValidationErrors
	if !errors.As(err, &ve) {
		return err
	}
	out := make(provider.FieldErrors, 0, len(ve))
	for _, fe := range ve {
		out = append(out, &provider.Error{Code: provider.CodeInvalidField, Field: fieldPath(fe.Namespace()), Message: message(fe)})
	}
	return out
}

// fieldPath drops the struct name validator puts first, and the embedded
// orderCall, so a field is named by its path in the body.
func fieldPath(ns string) string {
	_, path, ok := strings.Cut(ns, ".")
	if !ok {
		return ns
	}
	return strings.TrimPrefix(path, "orderCall.")
}

func message(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required":
		return "is required"
	case "max":
		return "is too long (at most " + fe.Param() + " characters)"
	case "oneof":
		return "must be one of " + strings.ReplaceAll(fe.Param(), " ", ", ")
	case "email":
		return "must be an email address"
	case "url":
		return "must be an absolute URL"
	case "iso4217":
		return "must be an ISO 4217 currency code"
	case "bcp47_language_tag":
		return "must be a BCP 47 language tag"
	case "ip":
		return "must be an IP address"
	case "token":
		return "must be printable text without surrounding spaces"
	}
	return "is not valid"
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Struct, reflect.Map, reflect.Pointer:
		return "object"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "number"
		}
		return "array"
	case reflect.Bool:
		return "boolean"
	}
	return "number"
}

// money parses a required (or optional) amount field, naming it on error.
func money(raw json.RawMessage, field string, required bool) (provider.Money, error) {
	if len(raw) == 0 || string(raw) == "null" {
		if required {
			return 0, provider.FieldErrors{{Code: provider.CodeInvalidField, Field: field, Message: "is required"}}
		}
		return 0, nil
	}
	m, err := provider.ParseJSONMoney(raw)
	if err != nil {
		return 0, provider.FieldErrors{{Code: provider.CodeInvalidField, Field: field, Message: err.Error()}}
	}
	return m, nil
}

// joinFieldErrors merges validation failures so a client sees them all,
// one per field: the first rule a field broke is the one reported.
func joinFieldErrors(errs ...error) error {
	var out provider.FieldErrors
	for _, err := range errs {
		var fe provider.FieldErrors
		switch {
		case err == nil:
		case errors.As(err, &fe):
			for _, e := range fe {
				if !slices.ContainsFunc(out, func(o *provider.Error) bool { return o.Field == e.Field }) {
					out = append(out, e)
				}
			}
		default:
			return err
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
