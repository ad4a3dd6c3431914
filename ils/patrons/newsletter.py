"""What a patron may subscribe to in the newsletter (メールマガジン): NDC subject classes (新着図書案内) and 行事案内.

The web's subscriptions (batch/s07_newsletter_subscription.py) need only these names; the
weekly issue itself is the mail's (ils/mail/newsletter.py), which an intraday run never loads.
"""

NDC_CLASSES = tuple("0123456789")  # the first digit of a title's NDC number (日本十進分類法)
EVENTS = "events"  # the topic of 行事案内, beside the NDC classes
