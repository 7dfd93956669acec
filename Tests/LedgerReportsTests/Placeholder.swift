// The reports work lands on main separately; this keeps the test target buildable on the integrate branch.
