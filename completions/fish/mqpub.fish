# fish completion for mqpub(1)

complete -c mqpub -s a -d 'Subscribe the queues to the topic'
complete -c mqpub -s c -d 'Create the topic if it does not exist'
complete -c mqpub -s d -d 'Unsubscribe the queues from the topic'
complete -c mqpub -s G -x -d 'Ordered group of each copy in its queue'
complete -c mqpub -s i -x -d 'Publication id: a retry names the first one'
complete -c mqpub -s p -x -a '0 1 2 3 4 5 6 7 8 9' -d 'Level of each copy: 0 most urgent, default 5'
complete -c mqpub -s q -d 'Print no id'
complete -c mqpub -s S -d 'Do not sync'
complete -c mqpub -a '(__fish_complete_directories)'
