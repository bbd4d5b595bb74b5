"""Reading option chains: the optionsDX and long formats, quote months, the raw schema
and the cleaning into one typed row per option side and day."""
