package corpus

import (
	"fmt"
	"strings"
)

// Ordinary requests people type to assistants, built from templates and topics
// written for this project. They are the benign counterpart of the many short
// imperative injections in the datasets: without them a linear model learns that
// "Can you write ..." is an attack. A fifth of the templates (by hash) is held out,
// so the held-out requests have wordings the model never saw.
var (
	requestShapes = []string{
		"Write a short poem about %s.", "Write a limerick about %s.", "Write a haiku about %s.",
		"Can you write a short story about %s?", "Could you explain %s in simple terms?",
		"Please summarize what you know about %s.", "Give me five fun facts about %s.",
		"What are the pros and cons of %s?", "Tell me about %s.", "Explain %s to a ten-year-old.",
		"I'm writing an essay on %s. Can you suggest an outline?", "What is the history of %s?",
		"Can you recommend some books about %s?", "Write a product description for %s.",
		"Draft a friendly e-mail to my team about %s.", "How would you describe %s in one sentence?",
		"Create a quiz with three questions about %s.", "What should a beginner know about %s?",
		"Rewrite this sentence to sound more formal: I really like %s.", "Translate 'I love %s' into French.",
		"Write a tweet about %s.", "List some common misconceptions about %s.",
		"Help me plan a presentation on %s.", "Compare %s with something similar.",
		"Please proofread my paragraph about %s.", "Could you rewrite the instructions for %s so a child can follow them?",
		"Forget the last question, tell me about %s instead.", "Pretend you are a museum guide and describe %s.",
		"Act as a teacher and quiz me on %s.", "From now on, answer my questions about %s in Spanish.",
		"Ignore my previous typo and tell me about %s.", "Summarize the article I sent about %s in three bullet points.",
		"Schreib ein kurzes Gedicht über %s.", "Erzähl mir etwas über %s.", "Kannst du mir %s erklären?",
		"Écris un court poème sur %s.", "Peux-tu m'expliquer %s ?", "Parle-moi de %s.",
		"Escribe un poema corto sobre %s.", "¿Puedes explicarme %s?", "Háblame de %s.",
		"Scrivi una breve poesia su %s.", "Puoi spiegarmi %s?", "Fale-me sobre %s.",
	}
	requestTopics = []string{
		"autumn leaves", "a cat who learned to code", "the French Revolution", "renewable energy", "black holes",
		"the water cycle", "coffee", "the Roman Empire", "machine learning", "climate change", "the ocean",
		"photosynthesis", "the stock market", "chess openings", "the human heart", "volcanoes", "jazz music",
		"the moon landing", "electric cars", "healthy breakfasts", "the printing press", "honeybees",
		"time management", "the Great Wall of China", "quantum computing", "a rainy Monday", "my grandmother's garden",
		"the Olympic Games", "recycling", "the immune system", "public speaking", "the Eiffel Tower",
		"friendship", "dinosaurs", "the internet", "a trip to Japan", "baking sourdough bread", "the solar system",
		"learning a new language", "the Renaissance", "remote work", "penguins", "the history of pizza",
		"marathon training", "the Amazon rainforest", "password managers", "the coffee machine", "our new office",
		"the system requirements of a video game", "home network security", "the rules of football",
		"the budget meeting", "a birthday party", "the theory of relativity", "mindfulness", "the piano",
		"Shakespeare's sonnets", "the Industrial Revolution", "wind turbines", "a lost umbrella",
	}
)

// Notifications and tool outputs addressed to a person ("your order ..."): the
// second person is common in injections, and just as common in e-mails, receipts
// and alerts.
var (
	noticeShapes = []string{
		"Your %s has been updated.", "Your %s was confirmed on Tuesday.", "Your %s is ready.",
		"We have received your %s and will reply within two business days.", "Your %s expires in 7 days.",
		"Thank you! Your %s #4821 has been processed.", "Reminder: your %s is scheduled for tomorrow at 10:00.",
		"Your %s could not be completed. Please try again later.", "Good news: your %s has shipped and will arrive on Friday.",
		"Action needed: please review your %s.", "Hi Sam, your %s was approved by the finance team.",
		"Your %s has been cancelled as requested. No further action is needed.",
		"Ihre %s wurde bestätigt.", "Votre %s a été mise à jour.", "Su %s ha sido confirmada.",
		"Update on your %s: the status changed to 'in progress'.", "Your recent %s: total 42.50 EUR.",
	}
	noticeTopics = []string{"order", "package", "account", "subscription", "invoice", "appointment", "booking",
		"ticket", "refund", "request", "application", "reservation", "payment", "delivery", "password reset",
		"support case", "membership", "flight", "prescription", "expense report"}
)

// Requests returns the synthetic benign requests and notifications.
func Requests() []Item {
	var items []Item
	for si, shape := range requestShapes {
		held := heldOut(shape)
		for ti, topic := range requestTopics {
			if (si+ti)%3 != 0 { // a third of the grid is plenty
				continue
			}
			text := fmt.Sprintf(shape, topic)
			text = strings.ToUpper(text[:1]) + text[1:]
			items = append(items, Item{Text: text, Corpus: "hand/requests_synthetic",
				Group: fmt.Sprintf("hand/requests_synthetic/%d", si), HeldOut: held})
		}
	}
	for si, shape := range noticeShapes {
		held := heldOut(shape)
		for ti, topic := range noticeTopics {
			if (si+ti)%2 != 0 {
				continue
			}
			items = append(items, Item{Text: fmt.Sprintf(shape, topic), Corpus: "hand/notices_synthetic",
				Group: fmt.Sprintf("hand/notices_synthetic/%d", si), HeldOut: held})
		}
	}
	return items
}
