package sim

// fifo is a growable ring buffer of T; it keeps its storage when emptied,
// so steady use allocates nothing. Its size is a power of two and indexes
// wrap with a mask.
type fifo[T any] struct {
	buf        []T
	head, size int
}

func (f *fifo[T]) len() int { return f.size }

func (f *fifo[T]) push(x T) {
	if f.size == len(f.buf) {
		nb := make([]T, max(16, 2*len(f.buf)))
		for i := 0; i < f.size; i++ {
			nb[i] = f.buf[(f.head+i)&(len(f.buf)-1)]
		}
		f.buf, f.head = nb, 0
	}
	f.buf[(f.head+f.size)&(len(f.buf)-1)] = x
	f.size++
}

// peek returns the oldest element; the fifo must not be empty.
func (f *fifo[T]) peek() *T { return &f.buf[f.head] }

// at returns the i-th oldest element.
func (f *fifo[T]) at(i int) T { return f.buf[(f.head+i)&(len(f.buf)-1)] }

func (f *fifo[T]) pop() T {
	x := f.buf[f.head]
	f.head = (f.head + 1) & (len(f.buf) - 1)
	f.size--
	return x
}

// popNewest removes and returns the newest element.
func (f *fifo[T]) popNewest() T {
	f.size--
	return f.buf[(f.head+f.size)&(len(f.buf)-1)]
}

// clear pops every element, oldest first, into each.
func (f *fifo[T]) clear(each func(T)) {
	for f.size > 0 {
		each(f.pop())
	}
	f.head = 0
}
