"""Report: findings to words and pictures. The HTML report's context and sections (flat,
already-formatted values; templates/ hold only if/for), the brief, charts (the only matplotlib
user), number formatting, and the exporters (CSV, Markdown, benchstat, BMF).

May import every earlier stage's types and findings; nothing earlier may import this package.
"""
