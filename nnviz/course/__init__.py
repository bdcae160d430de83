"""nnviz course: the lessons (files in lessons/, read and checked), their answers, the course's sums by hand."""
