"""Hooks into other frameworks. Each module imports its framework, so import the one you use
(``cacheback.integrations.langchain``); nothing in the core imports this package."""
