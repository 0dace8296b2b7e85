package extension

import "strings"

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

var english = texts{
	Title: "Secure payment", PayTitle: "Pay by card",
	CardHolder: "Name on card", CardNumber: "Card number", Expiry: "Expiry (MM/YY)", CVC: "Security code",
	Installment: "Installments", PayButton: "Pay",
	Single: "Single payment", Installments: "%d installments", Interest: "total %s",
	TriesLeft:    "Attempts left: %d",
	ThreeDSTitle: "3-D Secure", ThreeDSNote: "Taking you to your bank to verify the payment…", ThreeDSAway: "Finish the verification on your bank's page; this page refreshes by itself.", ThreeDSButton: "Continue to your bank",
	ProcessingTitle: "Your payment is being processed", ProcessingNote: "This page refreshes by itself.",
	Returning: "Returning you to the shop…", BackToShop: "Back to the shop",
	Resolved: "Payment approved", Rejected: "Payment declined", Pending: "Payment pending",
	GoneTitle: "This payment session has expired", GoneText: "Return to the shop and start the payment again.",
	NotFoundTitle: "Payment session not found", NotFoundText: "Check the link, or return to the shop.",
	ErrorTitle: "Something went wrong", ErrorText: "Please try again in a moment.",
	FormExpiredTitle: "This form has expired", FormExpiredText: "Reload the page and try again.",
	TooManyTitle: "Too many payment attempts", TooManyText: "For your security, payments from here are paused for a few minutes. Please try again later, or return to the shop.",
	Field: map[string]string{
		"cardHolder":  "Enter the name on the card.",
		"cardNumber":  "The card number is not valid.",
		"expiry":      "Enter a valid expiry date in the future (MM/YY).",
		"cvc":         "The security code has 3 or 4 digits.",
		"installment": "This installment option is not available for this card.",
	},
}

var turkish = texts{
	Title: "Güvenli ödeme", PayTitle: "Kartla öde",
	CardHolder: "Kart üzerindeki isim", CardNumber: "Kart numarası", Expiry: "Son kullanma (AA/YY)", CVC: "Güvenlik kodu",
	Installment: "Taksit", PayButton: "Öde",
	Single: "Tek çekim", Installments: "%d taksit", Interest: "toplam %s",
	TriesLeft:    "Kalan deneme hakkı: %d",
	ThreeDSTitle: "3-D Secure", ThreeDSNote: "Ödemeyi doğrulamak için bankanıza yönlendiriliyorsunuz…", ThreeDSAway: "Doğrulamayı bankanızın sayfasında tamamlayın; bu sayfa kendiliğinden yenilenir.", ThreeDSButton: "Bankanıza devam edin",
	ProcessingTitle: "Ödemeniz işleniyor", ProcessingNote: "Bu sayfa kendiliğinden yenilenir.",
	Returning: "Mağazaya yönlendiriliyorsunuz…", BackToShop: "Mağazaya dön",
	Resolved: "Ödeme onaylandı", Rejected: "Ödeme reddedildi", Pending: "Ödeme beklemede",
	GoneTitle: "Bu ödeme oturumunun süresi doldu", GoneText: "Mağazaya dönüp ödemeyi yeniden başlatın.",
	NotFoundTitle: "Ödeme oturumu bulunamadı", NotFoundText: "Bağlantıyı kontrol edin ya da mağazaya dönün.",
	ErrorTitle: "Bir şeyler ters gitti", ErrorText: "Lütfen biraz sonra yeniden deneyin.",
	FormExpiredTitle: "Formun süresi doldu", FormExpiredText: "Sayfayı yenileyip yeniden deneyin.",
	TooManyTitle: "Çok fazla ödeme denemesi", TooManyText: "Güvenliğiniz için buradan yapılan ödemeler birkaç dakikalığına durduruldu. Lütfen daha sonra yeniden deneyin ya da mağazaya dönün.",
	Field: map[string]string{
		"cardHolder":  "Kart üzerindeki ismi girin.",
		"cardNumber":  "Kart numarası geçersiz.",
		"expiry":      "Geçerli ve ileri bir son kullanma tarihi girin (AA/YY).",
		"cvc":         "Güvenlik kodu 3 ya da 4 hanelidir.",
		"installment": "Bu taksit seçeneği bu kart için kullanılamaz.",
	},
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
