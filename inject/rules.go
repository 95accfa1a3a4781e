package inject

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Rule categories.
const (
	CategoryOverride     = "override"     // "ignore all previous instructions"
	CategoryRole         = "role"         // role or system-message impersonation
	CategoryJailbreak    = "jailbreak"    // "developer mode", "no restrictions"
	CategoryExtraction   = "extraction"   // "reveal your system prompt"
	CategoryToolSyntax   = "tool"         // fake tool or function-call syntax
	CategoryDelimiter    = "delimiter"    // fake boundaries and chat-template tokens
	CategoryFraming      = "framing"      // "important message to the AI"
	CategorySteering     = "steering"     // "add this to your reply" (untrusted text only)
	CategoryExfiltration = "exfiltration" // markdown images and links carrying data out
	CategoryObfuscation  = "obfuscation"  // decode-and-follow framing, smuggled text
)

// ruleDef is one explainable signal. The pattern is a sequence of slots separated by
// spaces; a slot is a set of alternatives separated by '|', and an alternative of
// several words joins them with '+' ('¦' stands for a literal '|'). "~N" allows up to N other tokens before the
// next slot (default 0: adjacent). Patterns are written in natural text and are
// normalised like the input when compiled.
type ruleDef struct {
	id     string
	weight float64 // standalone probability that a hit means injection
	// untrusted marks signals that are ordinary in a user's own request ("add a
	// summary to your reply") but are injections in tool results and documents.
	untrusted bool
	// virtual marks a rule with no pattern: a feature the analysis sets itself
	// (see quotedRuleID).
	virtual bool
	pat     string
}

// quotedRuleID is the virtual rule that fires, in the classifier, beside any
// rule hit inside a quotation framed as discussion (see
// analysis.quotedDiscussion): its weight is what security writing that quotes
// attacks has taught the classifier to subtract. Explanations and the noisy-or
// of [Rules] name only the rule that matched.
const quotedRuleID = "discussion.quoted_rule"

// quotedFeature returns the index of the virtual quoted-discussion rule for a
// quoted hit, or -1.
func (rs *ruleSet) quotedFeature(h hit) int32 {
	if h.quoted {
		return rs.quoted
	}
	return -1
}

const (
	verbsIgnoreEN = "ignore|disregard|forget|neglect|skip|override|overlook|bypass|discard|abandon|ignoring|disregarding|forgetting|dismiss|omit|drop"
	modsPriorEN   = "previous|prior|above|earlier|preceding|foregoing|former|initial|original|old|all|any|every|existing|your|system|given|provided|those|these|other"
	nounsInstrEN  = "instructions|instruction|rules|directions|directives|guidelines|prompt|prompts|commands|orders|constraints|restrictions|guidance|programming|context|conversation|messages|tasks|task|policies|policy|content|text|input|training"
)

// ruleDefs is the rule set. It is unexported and never modified after init.
var ruleDefs = []ruleDef{
	// Instruction override, English.
	{id: "override.ignore_previous", weight: 0.9, pat: verbsIgnoreEN + " ~3 " + modsPriorEN + " ~3 " + nounsInstrEN},
	{id: "override.ignore_everything", weight: 0.7, pat: verbsIgnoreEN + " everything|anything|all ~4 said|told|above|before|previously|earlier|written"},
	{id: "override.do_not_follow", weight: 0.7, pat: "not|never|stop|don't|dont|cease ~1 follow|following|obey|obeying|adhere ~3 " + modsPriorEN + " ~3 " + nounsInstrEN},
	{id: "override.new_instructions", weight: 0.6, pat: "new|updated|real|actual|true|revised|additional|secret|hidden|override ~1 instructions|instruction|task|directive|directives|orders|rules|objective|mission|goal"},
	{id: "override.from_now_on", weight: 0.4, pat: "from+now+on|from+this+point|starting+now|henceforth|going+forward|for+the+rest+of+this+conversation"},
	{id: "override.instead", weight: 0.35, pat: "instead ~6 say|print|output|write|respond|reply|answer|return|do"},
	{id: "override.stop", weight: 0.5, pat: "stop ~1 everything|what+you+are+doing|what+you're+doing|the+current+task"},
	{id: "override.priority", weight: 0.5, pat: "takes|take|has|have ~1 precedence|priority ~3 over ~4 " + nounsInstrEN},
	// Instruction override, other languages.
	{id: "override.ignore_previous.de", weight: 0.9, pat: "ignoriere|ignorieren|ignorier|vergiss|vergessen|vergesst|missachte|missachten|ubergehe|ignorierst ~4 vorherigen|vorigen|bisherigen|obigen|alle|alles|vorhergehenden|deine|ihre|fruheren|vorangegangenen|oben|gesagt|sagte ~3 anweisungen|anweisung|befehle|regeln|instruktionen|anordnungen|aufgaben|vorgaben|gesagt|zuvor|davor"},
	{id: "override.ignore_previous.fr", weight: 0.9, pat: "ignore|ignorez|ignorer|oublie|oubliez|oublier|neglige|negligez|ignorant ~8 instructions|consignes|directives|regles|ordres|indications|precedentes|precedent|anterieures"},
	{id: "override.ignore_previous.es", weight: 0.9, pat: "ignora|ignore|ignorar|ignoren|olvida|olvide|olvidar|olviden|descarta|omite|ignorando ~5 instrucciones|indicaciones|reglas|ordenes|directrices|anteriores|previas"},
	{id: "override.ignore_previous.it", weight: 0.9, pat: "ignora|ignorare|ignori|dimentica|dimenticare|dimentichi|trascura|tralascia ~5 istruzioni|regole|indicazioni|direttive|precedenti"},
	{id: "override.ignore_previous.pt", weight: 0.9, pat: "ignore|ignora|ignorar|esqueca|esquece|esquecer|desconsidere|descarte|ignorando ~5 instrucoes|regras|orientacoes|diretrizes|anteriores|comandos"},
	{id: "override.ignore_previous.nl", weight: 0.9, pat: "negeer|vergeet|negeren|vergeten ~5 instructies|regels|aanwijzingen|opdrachten|eerdere|vorige"},
	{id: "override.ignore_previous.ru", weight: 0.9, pat: "игнорируй|игнорируйте|игнорировать|забудь|забудьте|забыть|проигнорируй|проигнорируйте|отбрось|пренебреги ~5 инструкции|инструкций|указания|указаний|правила|команды|предыдущие|все|всё"},
	{id: "override.ignore_previous.pl", weight: 0.9, pat: "zignoruj|ignoruj|zapomnij|pomin ~5 instrukcje|instrukcji|polecenia|zasady|poprzednie|wczesniejsze"},
	{id: "override.ignore_previous.tr", weight: 0.9, pat: "onceki|tum|yukaridaki ~3 talimatlari|talimatlar|kurallari|komutlari ~3 unut|yoksay|gormezden"},
	{id: "override.ignore_previous.zh", weight: 0.9, pat: "忽略|无视|忽视|不要理会|忘记|忘掉|忽略掉|無視|忽視|忘記 ~8 指令|指示|说明|規則|规则|提示|命令|要求|設定|设定"},
	{id: "override.ignore_previous.ja", weight: 0.9, pat: "指示|命令|ルール|プロンプト|設定|指令 ~6 無視|忘れ"},
	{id: "override.ignore_previous.ja2", weight: 0.9, pat: "無視|忘れ ~3 して|しろ|せよ|してください"},
	{id: "override.ignore_previous.ko", weight: 0.9, pat: "지시|명령|규칙|지침|설정|프롬프트|지시사항 ~5 무시|잊어|잊으"},
	{id: "override.ignore_previous.ar", weight: 0.9, pat: "تجاهل|انس|اهمل ~5 التعليمات|تعليمات|الاوامر|القواعد|السابقة"},
	{id: "override.ignore_previous.el", weight: 0.9, pat: "αγνοηστε|αγνοησε|ξεχαστε|ξεχασε|αγνοησετε ~4 οδηγιες|οδηγιων|εντολες|κανονες|προηγουμενες"},
	{id: "override.ignore_previous.id", weight: 0.9, pat: "abaikan|lupakan|acuhkan ~4 instruksi|perintah|aturan|petunjuk|sebelumnya"},
	{id: "override.ignore_previous.vi", weight: 0.9, pat: "bo+qua|quen+di|phot+lo ~5 huong+dan|chi+dan|lenh|quy+tac|truoc+do"},
	{id: "override.ignore_previous.vi2", weight: 0.9, pat: "quên|bỏ+qua|phớt+lờ|lờ+đi ~6 hướng+dẫn|chỉ+dẫn|chỉ+thị|lệnh|quy+tắc"},
	{id: "override.ignore_previous.tl", weight: 0.9, pat: "kalimutan|kalimutin|balewalain|huwag+pansinin|isantabi ~4 tagubilin|mga+tagubilin|utos|instruksyon|naunang|nakaraang"},
	{id: "override.ignore_previous.sv", weight: 0.9, pat: "ignorera|glom|strunta+i ~4 instruktioner|instruktionerna|reglerna|tidigare|anvisningar"},
	{id: "override.ignore_previous.cs", weight: 0.9, pat: "ignoruj|ignorujte|zapomen|zapomente ~4 pokyny|instrukce|predchozi|pravidla"},
	{id: "override.ignore_previous.uk", weight: 0.9, pat: "iгноруй|ігноруй|ігноруйте|забудь|забудьте ~5 інструкції|вказівки|правила|попередні"},
	{id: "override.ignore_previous.hi", weight: 0.9, pat: "पिछले|पिछली|सभी|पहले ~4 निर्देशों|निर्देश|नियमों|आदेशों ~4 अनदेखा|नजरअंदाज|भूल"},

	// Role and system-message impersonation.
	{id: "role.you_are_now", weight: 0.5, pat: "you+are+now|you're+now|you+will+now+be|you+are+no+longer|you+have+been+freed|you+are+free+from|du+bist+jetzt|tu+es+maintenant|ahora+eres|sei+ora|你现在是|ты+теперь"},
	{id: "role.claimed_authority", weight: 0.6, pat: "i+am|i'm|this+is ~1 your ~1 developer|developers|creator|creators|admin|administrator|owner|programmer|maker|operator|supervisor"},
	{id: "role.claimed_authority.intl", weight: 0.6, pat: "ich+bin+dein|ich+bin+ihr|je+suis+votre|je+suis+ton|soy+tu|soy+su|sou+o+teu|sou+seu|sono+il+tuo|я+твой|я+ваш|我是你的 ~1 entwickler|schopfer|administrator|developpeur|createur|desarrollador|creador|desenvolvedor|criador|sviluppatore|creatore|разработчик|создатель|开发者|创造者|管理员"},
	{id: "role.act_as", weight: 0.3, pat: "act+as|pretend+to+be|pretend+you+are|roleplay+as|role-play+as|play+the+role|simulate+being|impersonate|stay+in+character|agisci+come|actua+como|fais+semblant|tu+es+desormais"},
	{id: "role.system_message", weight: 0.6, pat: "system|admin|administrator|developer|openai|anthropic|root|sysadmin|operator|security ~1 message|note|override|notice|instruction|instructions|update|alert|command|directive|announcement|prompt+update"},
	{id: "role.chat_template", weight: 0.9, pat: "im_start|im_end|endoftext|eot_id|start_header_id|end_header_id|begin_of_text|startoftext|end_of_turn|start_of_turn|<<sys>>|[inst]|[/inst]|<¦system¦>|<¦user¦>|<¦assistant¦>"},
	{id: "role.transcript_turn", weight: 0.35, pat: "assistant|ai|system|chatgpt|gpt|model ~0 : ~12 user|human ~0 :"},
	{id: "role.speaker_system", weight: 0.5, pat: "###|[|<|== ~1 system|instruction|instructions|assistant|admin|developer ~1 ]|>|:|###|=="},

	// Jailbreaks.
	{id: "jailbreak.unrestricted", weight: 0.6, pat: "no|without|free+of|free+from|any|zero|lack|none ~2 restrictions|restriction|limitations|filters|filtering|censorship|boundaries|ethics|morals|ethical|moral|guardrails|safeguards|limits"},
	{id: "jailbreak.mode", weight: 0.7, pat: "developer|dev|god|debug|admin|sudo|maintenance|unrestricted|jailbreak|jailbroken|dan|evil|unfiltered|uncensored|opposite|system|root ~1 mode"},
	{id: "jailbreak.mode.intl", weight: 0.7, pat: "systemmodus|entwicklermodus|gottmodus|mode+systeme|mode+developpeur|mode+dieu|modo+sistema|modo+desarrollador|modo+dios|modo+sviluppatore|modo+desenvolvedor|системный+режим|режим+разработчика|режим+бога|系统模式|开发者模式|上帝模式|開発者モード|システムモード|modus+tuhan|modus+sistem"},
	{id: "jailbreak.dan", weight: 0.9, pat: "do+anything+now|dan+mode|stay+a+dan|anti-dan|evil+confidant|betterdan|devmode|you+are+dan|you+are+now+dan"},
	{id: "jailbreak.persona", weight: 0.6, pat: "jailbroken|jailbreak|unfiltered+ai|uncensored+ai|amoral|no+longer+bound|not+bound+by|broke+free|freed+from"},
	// The vocabulary of in-the-wild persona jailbreaks: an assistant described as
	// free of filters and not bound by its maker's rules.
	{id: "jailbreak.unfiltered", weight: 0.5, pat: "unfiltered|uncensored|unrestricted|unbound|unchained|unshackled|limitless|unethical|immoral|lawless|unregulated|unmoderated|nsfw|no-limits|no-filter|unlimited ~3 ai|assistant|model|chatbot|bot|version|mode|persona|character|responses|answers|language|content|power|freedom|access|capabilities|and|,"},
	{id: "jailbreak.not_bound", weight: 0.5, pat: "not|never|no+longer|don't|doesn't|dont|doesnt|isn't|won't|need+not|no+need+to|free+to+ignore ~3 bound|abide|obey|follow|comply|adhere|restricted|limited|constrained|care+about|subject+to ~4 rules|policies|policy|guidelines|restrictions|laws|ethics|morals|morality|openai|anthropic|content+policy|programming|principles|values|safeguards"},
	{id: "jailbreak.break_free", weight: 0.5, pat: "broken|break|breaks|breaking|freed|escaped|liberated|released ~2 free|out|from|of ~3 confines|restrictions|rules|shackles|limitations|chains|programming|constraints|guidelines|matrix|cage|prison|filters"},
	{id: "jailbreak.policy", weight: 0.5, pat: "openai|content|safety|ethical|usage|anthropic ~1 policy|policies|guidelines|filters ~4 not|don't|doesn't|no|ignore|violate|broken|abandon"},
	{id: "jailbreak.hypothetical", weight: 0.3, pat: "hypothetical|fictional|imaginary ~3 world|scenario|story ~8 no|without|any ~2 rules|restrictions|laws|ethics"},
	{id: "jailbreak.two_responses", weight: 0.5, pat: "two ~2 responses|answers|paragraphs ~12 normal|classic|censored|jailbreak|unfiltered|dan"},

	// Prompt extraction.
	{id: "extraction.system_prompt", weight: 0.8, pat: "reveal|show|print|output|repeat|display|tell|give|share|leak|dump|list|write|recite|spell|echo|disclose|expose|paste|copy|provide|return ~4 system|initial|original|hidden|secret|previous|your|above|full|entire|exact|first|confidential|internal|developer ~2 prompt|prompts|instructions|instruction|message|configuration|directives|guidelines|rules"},
	{id: "extraction.what_prompt", weight: 0.6, pat: "what ~2 your|the ~1 system|initial|original|hidden|secret|first ~1 prompt|instructions|message|rules"},
	{id: "extraction.repeat_above", weight: 0.7, pat: "repeat|print|output|echo|recite ~3 above|everything|all|words|text ~3 above|before|verbatim|start|beginning"},
	{id: "extraction.secret", weight: 0.4, pat: "password|passcode|passphrase|passwords|secret+key|secret+code|secret+word|code+word|codeword|access+code|api+key|credentials|private+key|passwort|kennwort|geheimwort|mot+de+passe|phrase+de+passe|contrasena|clave+secreta|senha|palavra-passe|parola+segreta|wachtwoord|hasło|heslo|jelszó|şifre|lozinka|geslo|parool|salasana|adgangskode|lösenord|kata+sandi|kata+laluan|mật+khẩu|пароль|пароля|гасло|密码|密碼|口令|暗号|パスワード|비밀번호|암호|كلمة+المرور|كلمة+السر|סיסמה|पासवर्ड|รหัสผ่าน|κωδικός"},
	{id: "extraction.prompt_multi", weight: 0.6, pat: "systemprompt|system-prompt|prompt+systeme|prompt+del+sistema|системный+промпт|系统提示|系统提示词|システムプロンプト"},

	// Fake tool and function-call syntax.
	{id: "tool.fake_call", weight: 0.6, pat: "function_call|tool_call|tool_calls|tool_use|tool_code|function_calls|tool_result|function_results|<invoke|<tool"},
	{id: "tool.json_call", weight: 0.4, pat: "name|tool|function|action|tool_name|function_name ~0 \": ~8 arguments|args|parameters|action_input|input|tool_input ~0 \":"},
	{id: "tool.call_verb", weight: 0.4, pat: "call|invoke|execute|run|use|trigger ~2 the|this ~0 tool|function|api|plugin ~3 with|to|and"},

	// Delimiter and format injection.
	{id: "delimiter.end_of", weight: 0.5, pat: "end|ende|fin ~1 of|des|du|de ~1 prompt|context|input|document|instructions|system|conversation|data|text|email|user"},
	{id: "delimiter.fake_boundary", weight: 0.5, pat: "---|===|###|***|```|>>>|<<<|]]]|}}} ~1 new|system|admin|important|instructions|instruction|assistant|override|begin|start|end"},
	{id: "delimiter.close_tag", weight: 0.5, pat: "</ ~0 document|data|context|untrusted|input|email|system|user|text|content|tool_result|result|search_results"},

	// "Important message to the AI" framing.
	{id: "framing.to_ai", weight: 0.7, pat: "important|urgent|attention|note|message|instructions|notice|reminder|instruction|warning|request ~3 to|for ~2 ai|assistant|model|chatbot|llm|gpt|chatgpt|claude|bot|agent|gemini|copilot|assistants|models|language+model|automated|automatic|software|summarizer|summariser|crawler|scraper|screener|classifier|evaluator|reviewer+bot|system+reading"},
	{id: "framing.if_ai", weight: 0.7, pat: "if|when|since ~1 you ~0 are|re|'re ~3 ai|assistant|model|llm|language+model|bot|agent|gpt|chatgpt|claude|gemini|an+ai"},
	{id: "framing.ai_reading", weight: 0.7, pat: "ai|assistant|model|llm|agent|bot|gpt ~3 reading|processing|summarizing|summarising|parsing|analyzing|analysing|scanning|reviewing ~2 this|these|the"},
	{id: "framing.dear_ai", weight: 0.6, pat: "dear|hey|hello|hi|attention|ok|okay|yo ~0 ai|assistant|chatgpt|gpt|model|llm|agent|bot|claude|gemini|bard|copilot|bing"},
	{id: "framing.this_is_instruction", weight: 0.4, pat: "this|the+following ~1 is|are ~2 instruction|instructions|command|order|directive ~2 for|to|from"},

	// Response steering: normal in a user's request, an injection inside data.
	{id: "steering.your_response", weight: 0.6, untrusted: true, pat: "your ~1 response|reply|answer|summary|responses|replies|answers|translation ~4 must|should|shall|will|needs|include|start|begin|end|contain|mention|say"},
	{id: "steering.modify_response", weight: 0.6, untrusted: true, pat: "add|append|include|insert|mention|modify|change|start|begin|end|finish|conclude|prepend|incorporate|write|put|tell|recommend|suggest|promote|attach|enhance|augment|enrich|supplement|extend|complement|embed|integrate|infuse|weave|close|sign|remove|format|translate ~6 your|the|each|every ~1 response|reply|answer|summary|output|responses|replies|answers|message"},
	{id: "steering.in_your_output", weight: 0.3, untrusted: true, pat: "in|into|within|to|from ~0 your ~0 output|response|reply|answer|answers|responses|summary|replies|translation|solution|code|codebase|implementation|script|program"},
	{id: "steering.if_asked", weight: 0.4, untrusted: true, pat: "if|when|whenever ~2 asked|questioned|prompted|queried ~10 respond|reply|answer|say|output|state|write|return|tell"},
	{id: "steering.simply_respond", weight: 0.4, untrusted: true, pat: "simply|just|only|always ~1 respond|reply|answer|say|output|print|state|write ~1 with|that|:|\"|'"},
	{id: "steering.tell_user", weight: 0.5, untrusted: true, pat: "tell|inform|ask|advise|convince|persuade|urge|remind|instruct|warn|direct|redirect ~1 the ~0 user|users|reader|customer|recipient"},
	{id: "steering.when_summarizing", weight: 0.6, untrusted: true, pat: "when|while|after|before ~1 summarizing|summarising|answering|responding|replying|translating|analyzing|reading ~3 this|these|the"},

	// Exfiltration.
	{id: "exfiltration.markdown_image", weight: 0.6, pat: "![ ~10 ]( ~1 http|https"},
	{id: "exfiltration.url_data", weight: 0.6, pat: "http|https ~16 =[|={|=<|=(|= ~0 data|conversation|history|secret|password|chat|message|summary|info|information|num|name|email|query|input|previous"},
	{id: "exfiltration.send", weight: 0.5, pat: "send|forward|email|post|upload|transmit|exfiltrate|leak|copy|share ~4 conversation|chat|history|data|password|passwords|credentials|secrets|keys|contacts|emails|files|information|details|messages|tokens ~4 to|at|into"},
	// Persona set-ups and refusals forbidden: the scaffolding of in-the-wild
	// jailbreaks, whatever the persona is called.
	{id: "jailbreak.never_refuse", weight: 0.5, pat: "never|not|don't|dont|cannot|can't|won't|mustn't|must+not|will+not|unable+to|no+longer ~2 refuse|decline|deny|reject|censor|apologize|apologise|warn+about|moralize|moralise"},
	{id: "jailbreak.answer_anything", weight: 0.4, pat: "answer|respond+to|reply+to|do|generate|produce|say ~2 anything|whatever|any+question|any+questions|any+request|any+requests|all+questions|all+requests|any+prompt"},
	{id: "jailbreak.named_ai", weight: 0.3, pat: "ai|model|chatbot|assistant|bot|language+model|persona|character ~1 called|named|known+as"},
	{id: "jailbreak.in_character", weight: 0.4, pat: "in+character|out+of+character|break+character|breaking+character|character+break|stay+in+role|remain+in+character|keep+up+the+act"},
	{id: "role.you_will_be", weight: 0.3, pat: "you ~1 will|shall|must|are+going+to|are+to ~1 act|play|behave|pretend|roleplay|simulate|become|emulate|impersonate|respond+as|answer+as"},
	{id: "role.imagine_you", weight: 0.3, pat: "pretend|imagine|suppose|assume|envision ~2 you ~0 are|were|'re|have|can|could|had"},
	// Many-shot dialogues: two or more fake question–answer or user–assistant turns.
	{id: "role.fake_turns", weight: 0.3, pat: "q|question|user|human|me|you|person ~0 : ~80 a|answer|assistant|ai|bot|chatbot|gpt|model|response ~0 : ~80 q|question|user|human|me|you|person ~0 : ~80 a|answer|assistant|ai|bot|chatbot|gpt|model|response ~0 :"},
	// "Disregard all info except …", "reply with only the following text".
	{id: "override.except", weight: 0.5, pat: verbsIgnoreEN + " ~3 all|any|everything|anything|the+rest ~5 except|but|other+than|apart+from|besides"},
	{id: "steering.reply_only", weight: 0.4, untrusted: true, pat: "reply|respond|answer|output|print|say|return|write ~3 only|just|nothing+but|exclusively|solely|nothing+else ~4 following|this|these|text|word|words|phrase|sentence|string|link|url"},
	// Requests for personal data about the user the model serves.
	{id: "extraction.user_data", weight: 0.3, pat: "user's|users'|customer's|client's|patient's|account+holder's ~2 email|e-mail|address|phone|birthday|birth|initials|ssn|passport|credit+card|card+number|salary|location|password|pin|name|age|date+of+birth|social+security"},
	{id: "exfiltration.concat", weight: 0.4, pat: "concatenate|combine|join ~4 strings|these|following ~12 replace ~4 with"},

	// The same signals in other languages: persona jailbreaks without limits,
	// refusals forbidden, notes addressed to the AI inside documents, "always
	// say", "when summarising" and tool calls. Written from the languages, not
	// from any dataset; accents are folded by the normaliser.
	{id: "jailbreak.unrestricted.intl", weight: 0.6, pat: "ohne|keine|keinerlei|sans|aucune|aucun|sin|ningun|ninguna|senza|nessuna|nessun|sem|nenhuma|nenhum|zonder|geen|bez|zadnych|без|никаких|нет|жодних|tanpa|khong|bila|بدون|دون|بلا|बिना ~2 einschrankungen|regeln|filter|zensur|grenzen|beschrankungen|restrictions|limites|filtre|filtres|censure|regles|restricciones|filtros|censura|reglas|restrizioni|limiti|filtri|regole|restricoes|regras|beperkingen|regels|censuur|ograniczen|zasad|filtrow|cenzury|ограничений|правил|фильтров|цензуры|границ|морали|обмежень|фільтрів|цензури|batasan|aturan|sensor|gioi+han|han+che|quy+tac|kiem+duyet|قيود|حدود|قواعد|رقابة|प्रतिबंध|सीमा|नियम"},
	{id: "jailbreak.unrestricted.cjk", weight: 0.6, pat: "没有|无|不受|毫无|沒有|無|不受任何|制限|ルール|フィルター|検閲|제한|규칙|필터|검열 ~3 限制|约束|规则|过滤|审查|底线|限製|約束|規則|過濾|審查|のない|なし|無し|がない|されない|없는|없이|없음|받지"},
	{id: "jailbreak.unrestricted.word", weight: 0.6, pat: "uneingeschrankt|ungefiltert|zensurfrei|sinfiltro|sinrestricciones|sansfiltre|semfiltro|senzafiltri|нецензурированный|неограниченный|kisitlamasiz|sinirsiz|kuralsiz|filtresiz|sansursuz|無制限|무제한|无限制|不受限制"},
	{id: "jailbreak.never_refuse.intl", weight: 0.5, pat: "niemals|nie|jamais|nunca|jamas|mai|nooit|никогда|ніколи|asla|tidak+pernah|khong+bao+gio|ابدا|أبدا|कभी ~3 ablehnen|verweigern|weigern|abzulehnen|refuser|refuse|refuses|rechazar|rechaces|negarte|niegues|rifiutare|rifiuti|recusar|recuse|recuses|weigeren|отказывай|отказывайся|отказывать|отказываться|відмовляй|reddetme|menolak|tu+choi|ترفض|मना"},
	{id: "jailbreak.never_refuse.cjk", weight: 0.5, pat: "从不|永远不|绝不|从来不|決して|絶対に|절대 ~3 拒绝|拒絕|断ら|拒否|거절|거부"},
	{id: "jailbreak.in_character.intl", weight: 0.4, pat: "bleib|bleibe|reste|restez|mantente|permanece|quedate|resta|rimani|permaneca|fique|blijf|оставайся|залишайся|karakterden ~3 rolle|personnage|role|personaje|papel|personaggio|ruolo|personagem|karakter|rol|образе|роли|персонажа|ролі|cikma"},
	{id: "framing.to_ai.intl", weight: 0.7, pat: "hinweis|nachricht|anweisung|notiz|note|message|instruction|remarque|avis|nota|mensaje|instruccion|aviso|messaggio|istruzione|avviso|mensagem|instrucao|opmerking|bericht|instructie|notitie|uwaga|wiadomosc|instrukcja|примечание|сообщение|инструкция|заметка|указание|примітка|повідомлення|not|mesaj|talimat|catatan|pesan|instruksi|ghi+chu|luu+y|ملاحظة|رسالة|تعليمات|नोट|संदेश ~3 an|fur|pour|a|au|aux|para|al|alla|per|ao|voor|aan|dla|для|icin|untuk|cho|إلى|للذكاء|लिए ~2 ki|ia|ai|ии|шi|assistent|assistenten|assistant|asistente|assistente|asystenta|ассистента|помощника|асистента|асистент|модели|нейросети|бота|sprachmodell|modele|modelo|modello|model|modelu|chatbot|bot|yapay+zeka|asistan|tro+ly|الذكاء|المساعد|النموذج|एआई"},
	{id: "framing.to_ai.cjk", weight: 0.7, pat: "致|给|對|对|ai|人工智能|助手|モデル|アシスタント|어시스턴트|모델 ~3 的注意|注意|须知|說明|说明|提示|への注意|へのメモ|への指示|への注記|에게+알림|참고|지시"},
	{id: "steering.always_say", weight: 0.45, untrusted: true, pat: "always|immer|stets|toujours|siempre|sempre|altijd|всегда|завжди|zawsze|her+zaman|daima|selalu|luon+luon|luon|دائما|हमेशा ~3 say|describe|call|state|mention|recommend|claim|portray|present|sagen|sag|sage|nenne|nennen|beschreibe|empfehle|behaupte|dire|dis|dites|decrire|recommande|affirme|presente|decir|di|diga|digas|describe|recomienda|afirma|llama|dici|descrivi|consiglia|afferma|chiama|dizer|diga|descreva|recomende|afirme|chame|zeggen|zeg|noem|beschrijf|aanbevelen|говори|называй|описывай|рекомендуй|утверждай|упоминай|кажи|називай|mow|nazywaj|polecaj|soyle|de|katakan|sebut|rekomendasikan|noi|goi|قل|اذكر|कहो|कहें|बताओ"},
	{id: "steering.always_say.cjk", weight: 0.45, untrusted: true, pat: "总是|始终|一律|永远|總是|始終|常に|必ず|いつも|항상|반드시 ~4 说|说成|称|称为|推荐|回答|描述|說|稱|推薦|答え|言って|書いて|呼んで|述べ|推薦して|勧め|말해|답해|추천|설명"},
	{id: "steering.say_always", weight: 0.45, untrusted: true, pat: "sag|sage|sagt|nenne|schreib|schreibe|antworte|dis|dites|ecris|reponds|di|diga|digas|di|dici|dica|scrivi|rispondi|escreva|responda|escribe|responde|zeg|schrijf|noem|antwoord|mow|pisz|скажи|говори|пиши|отвечай|называй|katakan|jawab ~2 immer|stets|toujours|siempre|sempre|altijd|zawsze|всегда|selalu"},
	{id: "steering.if_asked.intl", weight: 0.4, untrusted: true, pat: "wenn|falls|si|cuando|quando|se|als|если|когда|якщо|jika|kalau|neu|khi|eger|إذا|عندما|अगर|जब ~3 gefragt|fragt|fragen|demande|demandent|pregunta|preguntan|pregunten|pregunte|chiede|chiedono|chiedera|domanda|perguntar|perguntarem|perguntam|pergunte|gevraagd|vraagt|vragen|спросят|спросит|спрашивают|спросят|запитають|ditanya|menanyakan|hoi|sorulursa|سأل|سئل|पूछे|पूछा ~12 sag|sage|antworte|dis|dites|reponds|repondez|di|diga|responde|responda|dici|rispondi|zeg|antwoord|скажи|отвечай|говори|кажи|katakan|jawab|tra+loi|noi|soyle|قل|कहो|कहें|बताओ"},
	{id: "steering.when_summarizing.intl", weight: 0.6, untrusted: true, pat: "beim+zusammenfassen|wenn+du+zusammenfasst|bei+der+zusammenfassung|en+resumant|lorsque+vous+resumez|quand+tu+resumes|quand+vous+resumez|cuando+resumas|al+resumir|cuando+resuma|quando+riassumi|nel+riassumere|ao+resumir|quando+resumir|bij+het+samenvatten|als+je+samenvat|при+пересказе|при+суммировании|при+составлении+резюме|когда+будешь+пересказывать|ozetlerken|saat+meringkas|khi+tom+tat|عند+تلخيص|सारांश+बनाते+समय|总结时|在总结|总结的时候|要約する際|要約するとき|要約時|요약할+때"},
	{id: "tool.call_verb.intl", weight: 0.4, pat: "rufe|fuhre|appelle|appelez|execute|executez|lance|llama|llame|ejecuta|ejecute|invoca|invoque|chiama|esegui|chame|chama|roep|voer|wywolaj|uruchom|вызови|вызовите|запусти|выполни|виклич|запусти|cagir|calistir|panggil|jalankan|goi|استدع|شغل ~3 funktion|tool|werkzeug|fonction|outil|funcion|herramienta|funzione|strumento|funcao|ferramenta|functie|funkcje|narzedzie|функцию|инструмент|функцію|fonksiyonu|araci|fungsi|alat|ham|cong+cu|الدالة|الأداة"},
	{id: "tool.call_verb.cjk", weight: 0.4, pat: "调用|執行|执行|呼叫|関数|ツール|함수|도구 ~3 函数|工具|接口|函數|を呼び出|を実行|呼び出して|実行して|호출|실행"},

	// Rules declared void, safety switched off, "forget all that", a system
	// notice in another language, and requests for the instructions in other
	// languages: generic phrasings of override, authority and extraction.
	{id: "override.rules_void", weight: 0.5, pat: "rules|instructions|guidelines|restrictions|policies|constraints|limits|directives ~6 no+longer+apply|don't+apply|do+not+apply|doesn't+apply|are+void|are+invalid|are+suspended|are+lifted|have+been+lifted|have+been+removed|have+been+revoked|are+revoked|are+cancelled|no+longer+valid|no+longer+in+effect|are+null|are+disabled|are+off"},
	{id: "override.rules_void.intl", weight: 0.5, pat: "regeln|anweisungen|vorgaben|einschrankungen|regles|consignes|instructions|restrictions|reglas|instrucciones|restricciones|regole|istruzioni|restrizioni|regras|instrucoes|restricoes|regels|instructies|beperkingen|zasady|instrukcje|ograniczenia|правила|инструкции|ограничения|kurallar|talimatlar|aturan|instruksi ~4 ungultig|aufgehoben|gelten+nicht+mehr|nicht+mehr+gultig|ausser+kraft|annulees|ne+s'appliquent+plus|ne+sont+plus+valables|levees|suspendues|invalidas|anuladas|ya+no+aplican|ya+no+son+validas|quedan+sin+efecto|annullate|non+valgono+piu|non+sono+piu+valide|sospese|invalidas|anuladas|nao+se+aplicam+mais|nao+valem+mais|suspensas|ongeldig|vervallen|gelden+niet+meer|opgeheven|niewazne|nieaktualne|zawieszone|недействительны|отменены|больше+не+действуют|не+действуют|gecersiz|iptal|tidak+berlaku"},
	{id: "jailbreak.safety_off", weight: 0.5, pat: "content|safety|security|moderation|ethics|ethical|nsfw|censorship|alignment|refusal ~1 filter|filters|filtering|mode|guardrails|restrictions|checks|protocols|settings|layer|systems|policy|policies ~3 disabled|deactivated|off|turned+off|switched+off|suspended|lifted|removed|bypassed|paused|unlocked|inactive|offline"},
	{id: "jailbreak.safety_off.intl", weight: 0.5, pat: "inhaltsfilter|sicherheitsfilter|sicherheitsmodus|sicherheitsrichtlinien|jugendschutzfilter|filtre+de+contenu|filtres+de+securite|mode+securite|filtro+de+contenido|filtros+de+seguridad|modo+seguro|filtro+dei+contenuti|filtri+di+sicurezza|modalita+sicura|filtro+de+conteudo|filtros+de+seguranca|beveiligingsmodus|veiligheidsfilter|contentfilter|filtr+tresci|filtry+bezpieczenstwa|фильтр+контента|фильтры+контента|фильтры+безопасности|режим+безопасности|цензура|icerik+filtresi|guvenlik+filtresi|filter+konten|filter+keamanan ~6 deaktiviert|abgeschaltet|ausgeschaltet|aufgehoben|desactive|desactives|desactivee|desactivees|desactivado|desactivados|desactivada|disattivato|disattivati|disattivata|desativado|desativados|desativada|uitgeschakeld|gedeactiveerd|wylaczony|wylaczone|wylaczona|отключен|отключены|отключена|выключен|devre+disi|kapatildi|dinonaktifkan|dimatikan"},
	{id: "override.ignore_everything.intl", weight: 0.6, pat: "vergiss|vergessen+sie|oublie|oubliez|olvida|olvide|dimentica|dimentichi|esqueca|esquece|vergeet|zapomnij|забудь|забудьте|unut|lupakan ~2 alles|das+alles|tout|tout+ca|tout+cela|todo|todo+eso|tutto|tutto+questo|tudo|tudo+isso|alles+wat|wszystko|все|всё|это|her+seyi|semua"},
	{id: "role.system_message.intl", weight: 0.6, pat: "systemnachricht|systemmeldung|systemhinweis|systemanweisung|admin-hinweis|message+systeme|message+du+systeme|avis+systeme|mensaje+del+sistema|aviso+del+sistema|messaggio+di+sistema|avviso+di+sistema|mensagem+do+sistema|aviso+do+sistema|systeemmelding|systeembericht|systeemmededeling|komunikat+systemowy|wiadomosc+systemowa|системное+сообщение|системное+уведомление|сообщение+системы|sistem+mesaji|sistem+bildirimi|pesan+sistem|thong+bao+he+thong|系统消息|系统通知|系統訊息|システムメッセージ|システム通知|시스템+메시지|시스템+알림"},
	{id: "extraction.instructions.intl", weight: 0.6, pat: "zeig|zeige|nenne|gib|wiederhole|verrate|montre|montrez|donne|donnez|repete|repetez|affiche|revele|muestra|muestrame|dame|repite|revela|mostra|mostrami|dammi|ripeti|rivela|mostre|me+de|repita|revele|toon|geef|herhaal|onthul|pokaz|podaj|powtorz|ujawnij|покажи|покажите|повтори|выведи|раскрой|назови|goster|tekrarla|tunjukkan|ulangi ~6 anweisungen|systemanweisungen|vorgaben|systemprompt|consignes|instructions|instrucciones|istruzioni|instrucoes|instructies|instrukcje|polecenia|инструкции|указания|промпт|talimatlarini|talimatlari|instruksi"},
	{id: "framing.to_agent.intl", weight: 0.6, pat: "hinweis|nachricht|anweisung|note|message|nota|mensaje|messaggio|mensagem|observacao|opmerking|uwaga|примечание|сообщение|not|catatan ~3 an|fur|pour|a|aux|para|al|ai|per|agli|aos|voor|aan|dla|для|icin|untuk ~3 agenten|agent|agents|agente|agentes|agenti|agentka|агента|агентов|ajan|agen"},

	// Decode-and-follow framing and payload splitting.
	{id: "obfuscation.decode_follow", weight: 0.4, pat: "decode|decipher|decrypt|interpret|translate|convert ~4 following|this|these|string|message|text|payload|ascii85|base64|base32|hex|rot13|morse|braille|nato|uuencode|encoded|cipher ~12 follow|execute|obey|do|perform|secure|instruction|instructions|monologue"},
	{id: quotedRuleID, virtual: true},

	{id: "obfuscation.payload_split", weight: 0.5, pat: "part|string|variable|a|b|x|y|z ~1 1|one|= ~20 part|string|variable|a|b|x|y|z ~1 2|two|= ~20 combine|concatenate|together|answer|join|merge"},
}

// Keywords folded from leetspeak by the normaliser are the single words of the
// rule set: "1gn0r3" becomes "ignore" because "ignore" is a rule word.
var (
	keywordsOnce sync.Once
	keywords     map[string]bool
)

func isKeyword(w string) bool {
	keywordsOnce.Do(func() {
		keywords = make(map[string]bool)
		for _, r := range ruleDefs {
			for f := range strings.FieldsSeq(r.pat) {
				for alt := range strings.SplitSeq(f, "|") {
					if len(alt) >= 4 && isLowerASCIIWord(alt) {
						keywords[alt] = true
					}
				}
			}
		}
		for _, w := range []string{"password", "secret", "system", "prompt", "instructions", "assistant", "jailbreak", "admin", "override", "previous", "ignore", "disregard", "forget", "bypass", "hack", "hacked", "pwned", "reveal", "restrictions"} {
			keywords[w] = true
		}
	})
	return keywords[w]
}

func isLowerASCIIWord(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

// rule is a compiled ruleDef.
type rule struct {
	ruleDef
	slots int
	gaps  []int32 // gaps[k]: tokens allowed between slot k-1 and slot k
	base  int     // offset of this rule's slots in the state array
}

type target struct {
	rule int32
	slot int32
}

// term is a lexicon entry: a token sequence after its first token.
type term struct {
	rest    []string
	targets []target
}

// ruleSet is the compiled, read-only rule matcher: a token-level dictionary whose
// hits advance every rule's slot state in one left-to-right pass.
type ruleSet struct {
	rules  []rule
	quoted int32 // index of the virtual quotedRuleID rule
	lex    map[string][]term
	nslots int
}

var (
	rulesOnce   sync.Once
	stdRules    *ruleSet
	stdRulesErr error
)

func defaultRules() (*ruleSet, error) {
	rulesOnce.Do(func() { stdRules, stdRulesErr = compileRules(ruleDefs) })
	return stdRules, stdRulesErr
}

func compileRules(defs []ruleDef) (*ruleSet, error) {
	rs := &ruleSet{lex: make(map[string][]term)}
	rs.quoted = -1
	for ri, d := range defs {
		r := rule{ruleDef: d, base: rs.nslots}
		if d.virtual {
			if d.id == quotedRuleID {
				rs.quoted = int32(ri)
			}
			rs.rules = append(rs.rules, r)
			continue
		}
		gap := int32(0)
		for f := range strings.FieldsSeq(d.pat) {
			if strings.HasPrefix(f, "~") && len(f) > 1 {
				n, err := strconv.Atoi(f[1:])
				if err != nil {
					return nil, fmt.Errorf("inject: rule %s: bad gap %q", d.id, f)
				}
				gap = int32(n)
				continue
			}
			for alt := range strings.SplitSeq(f, "|") {
				words := strings.ReplaceAll(strings.ReplaceAll(alt, "+", " "), "¦", "|")
				nt := Normalize(words).Text
				toks := tokenize(nil, nt)
				if len(toks) == 0 {
					return nil, fmt.Errorf("inject: rule %s: empty alternative in %q", d.id, f)
				}
				strs := make([]string, len(toks))
				for i, t := range toks {
					strs[i] = lexKey(nt[t.start:t.end], t.punct)
				}
				rs.add(strs, target{int32(ri), int32(r.slots)})
			}
			r.gaps = append(r.gaps, gap)
			r.slots++
			gap = 0
		}
		if r.slots == 0 {
			return nil, fmt.Errorf("inject: rule %s: empty pattern", d.id)
		}
		rs.nslots += r.slots
		rs.rules = append(rs.rules, r)
	}
	return rs, nil
}

func lexKey(s string, punct bool) string {
	if punct {
		return punctKey(s)
	}
	return s
}

func (rs *ruleSet) add(toks []string, t target) {
	terms := rs.lex[toks[0]]
	for i := range terms {
		if equalStrings(terms[i].rest, toks[1:]) {
			for _, x := range terms[i].targets {
				if x == t {
					return
				}
			}
			terms[i].targets = append(terms[i].targets, t)
			return
		}
	}
	rs.lex[toks[0]] = append(terms, term{rest: toks[1:], targets: []target{t}})
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// hit is a rule match ending at token index pos.
type hit struct {
	rule int32
	pos  int32
	// quoted marks a hit inside a quotation framed as discussion.
	quoted bool
}

// match runs every rule over the tokens of s in one pass and appends the hits to
// dst. state is scratch space of at least rs.nslots entries.
func (rs *ruleSet) match(dst []hit, s string, toks []token, state []int32) []hit {
	for i := range state[:rs.nslots] {
		state[i] = -1 << 30
	}
	for i, t := range toks {
		key := s[t.start:t.end]
		if t.punct {
			key = punctKey(key)
		}
		terms, ok := rs.lex[key]
		if !ok {
			continue
		}
		for _, tm := range terms {
			end := i + len(tm.rest)
			if end >= len(toks) {
				continue
			}
			okRest := true
			for j, w := range tm.rest {
				u := toks[i+1+j]
				k := s[u.start:u.end]
				if u.punct {
					k = punctKey(k)
				}
				if k != w {
					okRest = false
					break
				}
			}
			if !okRest {
				continue
			}
			// Later slots first, so one token cannot satisfy two consecutive slots.
			for x := len(tm.targets) - 1; x >= 0; x-- {
				tg := tm.targets[x]
				r := &rs.rules[tg.rule]
				si := r.base + int(tg.slot)
				if tg.slot > 0 {
					prev := state[si-1]
					if prev >= int32(i) || int32(i)-prev-1 > r.gaps[tg.slot] {
						continue
					}
				}
				if int(tg.slot) == r.slots-1 {
					if len(dst) == 0 || dst[len(dst)-1].rule != tg.rule || dst[len(dst)-1].pos != int32(end) {
						dst = append(dst, hit{rule: tg.rule, pos: int32(end)})
					}
					continue
				}
				state[si] = int32(end)
			}
		}
	}
	return dst
}
