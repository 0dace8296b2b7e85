package nestpay

// currencyNumeric maps ISO 4217 alphabetic codes to the numeric codes the
// bank wants.
var currencyNumeric = map[string]string{"TRY": "949", "USD": "840", "EUR": "978", "GBP": "826"}
