package extension

import (
	"reflect"
	"strings"
)

// texts are the hosted page's words in one language.
type texts struct {
	Title, PayTitle, CardHolder, CardNumber, Expiry, CVC, Installment, PayButton string
	Single, Installments, Interest                                               string
	TriesLeft                                                                    string
	ThreeDSTitle, ThreeDSNote, ThreeDSAway, ThreeDSButton                        string
	ProcessingTitle, ProcessingNote                                              string
	Returning, BackToShop                                                        string
	Resolved, Rejected, Pending                                                  string
	GoneTitle, GoneText, NotFoundTitle, NotFoundText, ErrorTitle, ErrorText      string
	FormExpiredTitle, FormExpiredText                                            string
	TooManyTitle, TooManyText                                                    string
	Field                                                                        map[string]string
}

// phrases are the hosted page's words, each named by its field of texts
// ("Field.x" for the message of form field x) and written in English and
// Turkish side by side, so a phrase missing a language shows.
var phrases = [][3]string{
	{"Title", "Secure payment", "Güvenli ödeme"},
	{"PayTitle", "Pay by card", "Kartla öde"},
	{"CardHolder", "Name on card", "Kart üzerindeki isim"},
	{"CardNumber", "Card number", "Kart numarası"},
	{"Expiry", "Expiry (MM/YY)", "Son kullanma (AA/YY)"},
	{"CVC", "Security code", "Güvenlik kodu"},
	{"Installment", "Installments", "Taksit"},
	{"PayButton", "Pay", "Öde"},
	{"Single", "Single payment", "Tek çekim"},
	{"Installments", "%d installments", "%d taksit"},
	{"Interest", "total %s", "toplam %s"},
	{"TriesLeft", "Attempts left: %d", "Kalan deneme hakkı: %d"},
	{"ThreeDSTitle", "3-D Secure", "3-D Secure"},
	{"ThreeDSNote", "Taking you to your bank to verify the payment…", "Ödemeyi doğrulamak için bankanıza yönlendiriliyorsunuz…"},
	{"ThreeDSAway", "Finish the verification on your bank's page; this page refreshes by itself.", "Doğrulamayı bankanızın sayfasında tamamlayın; bu sayfa kendiliğinden yenilenir."},
	{"ThreeDSButton", "Continue to your bank", "Bankanıza devam edin"},
	{"ProcessingTitle", "Your payment is being processed", "Ödemeniz işleniyor"},
	{"ProcessingNote", "This page refreshes by itself.", "Bu sayfa kendiliğinden yenilenir."},
	{"Returning", "Returning you to the shop…", "Mağazaya yönlendiriliyorsunuz…"},
	{"BackToShop", "Back to the shop", "Mağazaya dön"},
	{"Resolved", "Payment approved", "Ödeme onaylandı"},
	{"Rejected", "Payment declined", "Ödeme reddedildi"},
	{"Pending", "Payment pending", "Ödeme beklemede"},
	{"GoneTitle", "This payment session has expired", "Bu ödeme oturumunun süresi doldu"},
	{"GoneText", "Return to the shop and start the payment again.", "Mağazaya dönüp ödemeyi yeniden başlatın."},
	{"NotFoundTitle", "Payment session not found", "Ödeme oturumu bulunamadı"},
	{"NotFoundText", "Check the link, or return to the shop.", "Bağlantıyı kontrol edin ya da mağazaya dönün."},
	{"ErrorTitle", "Something went wrong", "Bir şeyler ters gitti"},
	{"ErrorText", "Please try again in a moment.", "Lütfen biraz sonra yeniden deneyin."},
	{"FormExpiredTitle", "This form has expired", "Formun süresi doldu"},
	{"FormExpiredText", "Reload the page and try again.", "Sayfayı yenileyip yeniden deneyin."},
	{"TooManyTitle", "Too many payment attempts", "Çok fazla ödeme denemesi"},
	{"TooManyText", "For your security, payments from here are paused for a few minutes. Please try again later, or return to the shop.", "Güvenliğiniz için buradan yapılan ödemeler birkaç dakikalığına durduruldu. Lütfen daha sonra yeniden deneyin ya da mağazaya dönün."},
	{"Field.cardHolder", "Enter the name on the card.", "Kart üzerindeki ismi girin."},
	{"Field.cardNumber", "The card number is not valid.", "Kart numarası geçersiz."},
	{"Field.expiry", "Enter a valid expiry date in the future (MM/YY).", "Geçerli ve ileri bir son kullanma tarihi girin (AA/YY)."},
	{"Field.cvc", "The security code has 3 or 4 digits.", "Güvenlik kodu 3 ya da 4 hanelidir."},
	{"Field.installment", "This installment option is not available for this card.", "Bu taksit seçeneği bu kart için kullanılamaz."},
}

var english, turkish = textsIn(1), textsIn(2)

// textsIn is column col of phrases as texts; a phrase that names no
// field stops the program at start.
func textsIn(col int) texts {
	t := texts{Field: map[string]string{}}
	v := reflect.ValueOf(&t).Elem()
	for _, p := range phrases {
		if k, ok := strings.CutPrefix(p[0], "Field."); ok {
			t.Field[k] = p[col]
			continue
		}
		f := v.FieldByName(p[0])
		if f.Kind() != reflect.String {
			panic("extension: texts has no text " + p[0])
		}
		f.SetString(p[col])
	}
	return t
}

// textsFor picks the page language from a BCP 47 tag: Turkish for tr,
// English for everything else.
func textsFor(locale string) (lang string, t *texts) {
	l := strings.ToLower(locale)
	if l == "tr" || strings.HasPrefix(l, "tr-") || strings.HasPrefix(l, "tr_") {
		return "tr", &turkish
	}
	return "en", &english
}
