"""weather: the tutorial environment; one tool, get_weather(city), and a question about one city."""
