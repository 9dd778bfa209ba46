"""Measuring at a company's real size (issue 15): the data generator (`generate.py`, behind
`manage.py generate_scale`) and the served benchmark (`bench.py`, behind `manage.py benchmark
--scale`). Nothing here is imported by the product at run time."""
