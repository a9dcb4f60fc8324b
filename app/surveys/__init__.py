"""Delivery surveys: one question (CSAT about the delivery, NPS about the shop) asked a few days after an order's
last parcel arrives, answered with one tap from the message or on the tracking page, with an optional follow-up
(reasons, a comment); a low score is a detractor the merchant follows up from the attention list.

Other features ask two things of it, both in `app/surveys/messages.py` (which imports no other feature): the score
links a survey message carries (`survey_message_facts`) and the question on the delivered tracking page
(`tracking_page_survey`). Everything else goes through domain events (`survey.due`, `survey.detractor`,
`survey.detractor_handled`).
"""

from app.surveys.messages import survey_message_facts, tracking_page_survey

__all__ = ["survey_message_facts", "tracking_page_survey"]
