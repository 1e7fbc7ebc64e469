"""Conversation review for analysts: records, figures, retention, the RabbitMQ consumer.

A plain core without Rasa: `records` summarises Rasa's event dicts, `queries`
computes figures, `store` reads Rasa's SQL tracker store or the consumer's
table, `retention` deletes and exports, `consumer` reads Rasa's Pika events.
"""
