package web

// The core pages' texts: layout, login, errors, roles, indicators and
// requests. Keys are "<page>.<what>"; values may carry fmt verbs.
func init() {
	addMessages(map[string]msg{
		"app.subtitle": {"Folkehelsedata fra kommunene i Kunnskapskommunen Helse Omsorg Vest", "Public-health data from the municipalities of Kunnskapskommunen Helse Omsorg Vest"},
		"app.footer":   {"Bare beskyttede aggregater forlater megleren. Alle beslutninger og utleveringer logges.", "Only protected aggregates leave the broker. Every decision and release is logged."},

		"nav.label":          {"Hovedmeny", "Main menu"},
		"nav.skip":           {"Hopp til innholdet", "Skip to content"},
		"nav.home":           {"Forside", "Home"},
		"nav.indicators":     {"Indikatorer", "Indicators"},
		"nav.requests":       {"Forespørsler", "Requests"},
		"nav.privacy":        {"Personvern", "Privacy"},
		"nav.inquiry_form":   {"Send forskningshenvendelse", "Send a research inquiry"},
		"nav.inbox":          {"Henvendelser", "Inquiries"},
		"nav.portfolio":      {"Prosjekter", "Projects"},
		"nav.login":          {"Logg inn", "Sign in"},
		"nav.logout":         {"Logg ut", "Sign out"},
		"nav.other_language": {"English", "Norsk (bokmål)"},

		"role.researcher":      {"forsker", "researcher"},
		"role.coordinator":     {"folkehelsekoordinator", "public-health coordinator"},
		"role.privacy_officer": {"personvernombud", "privacy officer"},
		"role.fou_contact":     {"FoU-kontakt", "R&D contact"},
		"role.admin":           {"administrator", "administrator"},

		"home.title":        {"FolkeKommune", "FolkeKommune"},
		"home.lead":         {"Folkehelseindikatorer og beskyttede tabeller fra kommunenes fagsystemer, uten at opplysninger om enkeltpersoner forlater megleren.", "Public-health indicators and protected tables from the municipalities' clinical systems, without any person's records leaving the broker."},
		"home.indicators":   {"Se folkehelseindikatorene for kommunen din og sammenlign med de andre.", "See the public-health indicators for your municipality and compare it with the others."},
		"home.requests":     {"Be om en aggregert tabell til et godkjent prosjekt.", "Request an aggregated table for an approved project."},
		"home.request_list": {"Dine forespørsler, beslutningene og utleveringene.", "Your requests, their decisions and releases."},
		"home.privacy":      {"Reglene, beslutningsloggen og køen til manuell vurdering.", "The rules, the decision log and the manual review queue."},
		"home.inbox":        {"Forskningshenvendelser til din kommune og tjeneste.", "Research inquiries to your municipality and service."},
		"home.portfolio":    {"Prosjektporteføljen i samarbeidet.", "The collaboration's project portfolio."},
		"home.signin":       {"Logg inn med tokenet du har fått for å se indikatorer og be om tabeller.", "Sign in with the token you were given to see indicators and request tables."},
		"home.inquiry":      {"Ønsker du å forske i eller med kommunene? Send en henvendelse.", "Want to do research in or with the municipalities? Send an inquiry."},

		"login.title":      {"Logg inn", "Sign in"},
		"login.token":      {"Tilgangstoken", "Access token"},
		"login.token_help": {"Tokenet begynner med fk_. Du får det av administratoren.", "The token starts with fk_. The administrator gives it to you."},
		"login.submit":     {"Logg inn", "Sign in"},
		"login.failed":     {"Tokenet ble ikke godtatt. Sjekk at du har limt inn hele tokenet.", "The token was not accepted. Check that you pasted the whole token."},
		"login.expired":    {"Økten din er utløpt. Logg inn på nytt.", "Your session has expired. Please sign in again."},
		"login.oidc_later": {"Innlogging med Feide eller HelseID kommer senere.", "Sign-in with Feide or HelseID will come later."},

		"error.title":     {"Noe gikk galt", "Something went wrong"},
		"error.back_home": {"Til forsiden", "Back to the home page"},
		"error.internal":  {"En intern feil oppstod. Den er logget; prøv igjen senere.", "An internal error occurred. It has been logged; please try again later."},
		"error.input":     {"Noe i skjemaet eller adressen er ikke gyldig.", "Something in the form or the address is not valid."},
		"error.csrf":      {"Skjemaet er utløpt eller kom ikke fra denne siden. Gå tilbake, last siden på nytt og prøv igjen.", "The form has expired or did not come from this site. Go back, reload the page and try again."},
		"error.signin":    {"Du må logge inn først.", "You need to sign in first."},
		"error.forbidden": {"Rollen din gir ikke tilgang til dette.", "Your role does not give access to this."},
		"error.notfound":  {"Siden eller objektet finnes ikke, eller du har ikke tilgang til det.", "The page or object does not exist, or you have no access to it."},
		"error.state":     {"Tilstanden tillater ikke dette nå.", "The current state does not allow this."},
		"error.noextract": {"Ingen uttrekk er lastet inn ennå.", "No extract has been loaded yet."},
		"error.method":    {"Metoden er ikke tillatt her.", "The method is not allowed here."},

		"table.suppressed":       {"skjult", "suppressed"},
		"table.suppressed_title": {"Skjult av personvernhensyn (prikket)", "Withheld to protect privacy (suppressed)"},
		"table.primary":          {"Skjult fordi tallet er lite (primær prikking)", "Withheld because the number is small (primary suppression)"},
		"table.secondary":        {"Skjult fordi det ellers kunne avsløre et lite tall (sekundær prikking)", "Withheld because it could otherwise reveal a small number (secondary suppression)"},

		"requests.new": {"Ny forespørsel", "New request"},
	})
}
